namespace Berth.Compose.Engine;

/// <summary>The <c>com.docker.compose.*</c> labels Docker Compose v2 puts on what it creates, so other tools see one project.</summary>
public static class ComposeLabels
{
    public const string Project = "com.docker.compose.project";
    public const string Service = "com.docker.compose.service";
    public const string ContainerNumber = "com.docker.compose.container-number";
    public const string ConfigHash = "com.docker.compose.config-hash";
    public const string OneOff = "com.docker.compose.oneoff";
    public const string WorkingDir = "com.docker.compose.project.working_dir";
    public const string ConfigFiles = "com.docker.compose.project.config_files";
    public const string Version = "com.docker.compose.version";
    public const string Network = "com.docker.compose.network";
    public const string Volume = "com.docker.compose.volume";
    public const string DependsOn = "com.docker.compose.depends_on";
    public const string Image = "com.docker.compose.image";

    /// <summary>The Compose version we speak for (what the version label says).</summary>
    public const string ComposeVersion = "2.40.0";
}
