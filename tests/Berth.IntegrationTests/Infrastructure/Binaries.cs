using System.Reflection;

namespace Berth.IntegrationTests.Infrastructure;

/// <summary>
/// Where berthd and berth-monitor come from: <c>BERTH_BIN_DIR</c> (published binaries) when set, else the repo's
/// build outputs of the configuration these tests were built in (the test project references both projects, so
/// <c>dotnet test</c> builds them first).
/// </summary>
internal sealed record Binaries(string Daemon, string Monitor)
{
    public const string BinDirVariable = "BERTH_BIN_DIR";

    private static readonly Lazy<Binaries> Located = new(Locate);

    public static Binaries Current => Located.Value;

    /// <summary>The <c>berth</c> CLI: <c>BERTH_BIN_DIR/berth</c> when set, else the repo's build of the tests' configuration.</summary>
    public static string Cli
    {
        get
        {
            string? binDir = Environment.GetEnvironmentVariable(BinDirVariable);
            string configuration = typeof(Binaries).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration is { Length: > 0 } c ? c : "Debug";
            string path = !string.IsNullOrEmpty(binDir)
                ? Path.Combine(binDir, "berth")
                : Path.Combine(RepoRoot, "src", "Berth.Cli", "bin", configuration, "net10.0", "linux-x64", "berth");
            return File.Exists(path) ? path : throw new FileNotFoundException($"{path} not found; build src/Berth.Cli or set {BinDirVariable}", path);
        }
    }

    /// <summary>The directory holding Berth.slnx, found by walking up from the test assembly.</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    private static Binaries Locate()
    {
        string? binDir = Environment.GetEnvironmentVariable(BinDirVariable);
        if (!string.IsNullOrEmpty(binDir))
        {
            string daemon = Path.Combine(binDir, "berthd");
            string monitor = Path.Combine(binDir, "berth-monitor");
            if (!File.Exists(monitor) && File.Exists(monitor + ".dll"))
            {
                monitor += ".dll";
            }

            return Check(new Binaries(daemon, monitor), $"{BinDirVariable}={binDir}");
        }

        string configuration = typeof(Binaries).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration is { Length: > 0 } c ? c : "Debug";
        string Output(string project) => Path.Combine(RepoRoot, "src", project, "bin", configuration, "net10.0", "linux-x64");
        return Check(
            new Binaries(Path.Combine(Output("Berth.Daemon"), "berthd"), Path.Combine(Output("Berth.Monitor"), "berth-monitor.dll")),
            $"the {configuration} build of {RepoRoot}");
    }

    private static Binaries Check(Binaries binaries, string origin)
    {
        foreach (string path in new[] { binaries.Daemon, binaries.Monitor })
        {
            if (!File.Exists(path))
            {
                throw new FileNotFoundException($"{path} not found (binaries from {origin}); build src/Berth.Daemon and src/Berth.Monitor or set {BinDirVariable}", path);
            }
        }

        return binaries;
    }

    private static string FindRepoRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Berth.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException($"no Berth.slnx above {AppContext.BaseDirectory}");
    }
}
