namespace Berth.Monitor;

/// <summary>
/// Reads how many processes the kernel's OOM killer ended in the container's memory cgroup. The cgroup is
/// found once, from the live init's /proc/PID/cgroup (it is gone once init is reaped), and read at exit,
/// before the runtime's delete removes it: v1 (and hybrid) <c>memory.oom_control</c>, v2 <c>memory.events</c>,
/// both with an <c>oom_kill N</c> line.
/// </summary>
internal sealed class OomCounter
{
    private readonly string? _file;

    private OomCounter(string? file) => _file = file;

    /// <summary>The counter of <paramref name="pid"/>'s memory cgroup; reads 0 if it cannot be found.</summary>
    public static OomCounter ForProcess(int pid, string cgroupRoot = "/sys/fs/cgroup")
    {
        try
        {
            return new OomCounter(Locate(File.ReadAllLines($"/proc/{pid}/cgroup"), cgroupRoot));
        }
        catch (IOException)
        {
            return new OomCounter(null);
        }
    }

    /// <summary>The file that counts OOM kills, from the lines of /proc/PID/cgroup ("ID:controllers:path").</summary>
    public static string? Locate(IEnumerable<string> cgroupLines, string cgroupRoot)
    {
        string? unified = null;
        foreach (string line in cgroupLines)
        {
            string[] parts = line.Split(':', 3);
            if (parts.Length != 3)
            {
                continue;
            }

            if (parts[1].Split(',').Contains("memory"))
            {
                return Path.Join(cgroupRoot, "memory", parts[2], "memory.oom_control");
            }

            if (parts[0] == "0" && parts[1].Length == 0)
            {
                unified = parts[2];
            }
        }

        // Only a unified-only host accounts memory in the v2 tree (on a hybrid one, v2 is mounted at .../unified).
        return unified is null || Directory.Exists(Path.Join(cgroupRoot, "memory")) ? null : Path.Join(cgroupRoot, unified, "memory.events");
    }

    /// <summary>The <c>oom_kill</c> count now (0 when unknown).</summary>
    public long Read()
    {
        if (_file is null)
        {
            return 0;
        }

        try
        {
            return Parse(File.ReadAllLines(_file));
        }
        catch (IOException)
        {
            return 0;
        }
    }

    public static long Parse(IEnumerable<string> lines)
    {
        foreach (string line in lines)
        {
            if (line.StartsWith("oom_kill ", StringComparison.Ordinal) && long.TryParse(line.AsSpan(9), out long count))
            {
                return count;
            }
        }

        return 0;
    }
}
