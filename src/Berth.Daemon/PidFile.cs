namespace Berth.Daemon;

/// <summary>The daemon's pid file: refuses to start over a live daemon, replaces a stale file, removes it on exit.</summary>
internal sealed class PidFile : IDisposable
{
    private readonly string _path;

    private PidFile(string path) => _path = path;

    public static PidFile? Acquire(string path)
    {
        if (File.Exists(path) && int.TryParse(File.ReadAllText(path).Trim(), out int pid) && pid != Environment.ProcessId && Directory.Exists($"/proc/{pid}")
            && File.Exists($"/proc/{pid}/cmdline") && File.ReadAllText($"/proc/{pid}/cmdline").Contains("berthd", StringComparison.Ordinal))
        {
            return null;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        string temp = path + ".tmp";
        File.WriteAllText(temp, Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\n");
        File.Move(temp, path, overwrite: true);
        return new PidFile(path);
    }

    public void Dispose() => File.Delete(_path);
}
