using System.Diagnostics;
using System.Globalization;
using System.Text;
using Berth.Interop;

namespace Berth.IntegrationTests.Infrastructure;

/// <summary>
/// Leaves the host as it was, whatever the tests did: containers left in the runtime, monitors and other
/// processes working under the temp root, mounts under it, and finally the directory itself.
/// </summary>
public static class HostCleanup
{
    private const int SIGKILL = 9;
    private static readonly TimeSpan ProcessGrace = TimeSpan.FromSeconds(10);

    public static async Task RunAsync(string root, string runtimeRoot, Action<string> log, Action? beforeDelete = null)
    {
        await DeleteRuntimeContainersAsync(runtimeRoot, log);
        await EndProcessesAsync(root, log);
        UnmountUnder(root, log);
        beforeDelete?.Invoke();
        DeleteDirectory(root, log);
    }

    /// <summary>
    /// Removes what a daemon left in the host's network: its iptables rules (tagged <c>berth:BRIDGE:</c>) and the
    /// links they name (its default bridge and user-network bridges). Berth's shared chains stay (other daemons use them).
    /// </summary>
    public static async Task RemoveNetworkingAsync(string bridge, Action<string> log)
    {
        var links = new HashSet<string>(StringComparer.Ordinal) { bridge };
        foreach (string table in new[] { "nat", "filter" })
        {
            CommandResult saved = await ProcessRunner.RunAsync("iptables-save", ["-t", table], timeout: TimeSpan.FromSeconds(15));
            List<string> ours = [.. saved.Stdout.Split('\n').Where(l => l.StartsWith("-A ", StringComparison.Ordinal) && l.Contains($"berth:{bridge}:", StringComparison.Ordinal))];
            foreach (string rule in ours)
            {
                string[] words = rule.Split(' ');
                for (int i = 0; i + 1 < words.Length; i++)
                {
                    if (words[i] is "-i" or "-o" && words[i + 1].StartsWith("br", StringComparison.Ordinal) || words[i] is "-i" or "-o" && words[i + 1] == bridge)
                    {
                        links.Add(words[i + 1]);
                    }
                }
            }

            if (ours.Count > 0)
            {
                string script = $"*{table}\n" + string.Concat(ours.Select(r => "-D" + r[2..] + "\n")) + "COMMIT\n";
                CommandResult restore = await ProcessRunner.RunAsync("iptables-restore", ["--noflush", "--wait"], stdin: script, timeout: TimeSpan.FromSeconds(15));
                log($"cleanup: removed {ours.Count} {table} rules of {bridge}: {restore.ExitCode}");
            }
        }

        foreach (string link in links.Where(l => Directory.Exists("/sys/class/net/" + l)))
        {
            CommandResult deleted = await ProcessRunner.RunAsync("ip", ["link", "del", "dev", link], timeout: TimeSpan.FromSeconds(15));
            log($"cleanup: deleted link {link}: {deleted.ExitCode}");
        }
    }

    /// <summary><c>runc list</c>, then <c>runc delete --force</c> each (it kills what still runs).</summary>
    private static async Task DeleteRuntimeContainersAsync(string runtimeRoot, Action<string> log)
    {
        if (!Directory.Exists(runtimeRoot))
        {
            return;
        }

        CommandResult list = await ProcessRunner.RunAsync("runc", ["--root", runtimeRoot, "list", "--quiet"], timeout: TimeSpan.FromSeconds(15));
        if (list.ExitCode != 0)
        {
            log($"cleanup: {list}");
            return;
        }

        foreach (string id in list.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            log($"cleanup: deleting leftover runtime container {id}");
            CommandResult delete = await ProcessRunner.RunAsync("runc", ["--root", runtimeRoot, "delete", "--force", id], timeout: TimeSpan.FromSeconds(15));
            if (delete.ExitCode != 0)
            {
                log($"cleanup: {delete}");
            }
        }
    }

    /// <summary>Waits for processes that name a path under <paramref name="root"/> (monitors, runc) to end, then kills the rest.</summary>
    private static async Task EndProcessesAsync(string root, Action<string> log)
    {
        if (!await WaitForNoProcessesAsync(root, ProcessGrace))
        {
            foreach (int pid in ProcessesUnder(root))
            {
                log($"cleanup: killing leftover process {pid}: {CommandLine(pid)}");
                ProcessControl.Kill(pid, SIGKILL);
            }

            if (!await WaitForNoProcessesAsync(root, TimeSpan.FromSeconds(5)))
            {
                log($"cleanup: processes still alive under {root}: {string.Join(", ", ProcessesUnder(root))}");
            }
        }
    }

    private static async Task<bool> WaitForNoProcessesAsync(string root, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (ProcessesUnder(root).Count == 0)
            {
                return true;
            }

            if (clock.Elapsed > limit)
            {
                return false;
            }

            await Task.Delay(50); // polling /proc: there is no event for "a stranger's process ended"
        }
    }

    public static List<int> ProcessesUnder(string root)
    {
        string prefix = root.TrimEnd('/') + "/";
        var found = new List<int>();
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) || pid == Environment.ProcessId)
            {
                continue;
            }

            string[] args = CommandLine(pid).Split('\0');
            if (args.Any(a => a.StartsWith(prefix, StringComparison.Ordinal) || a.Contains("=" + prefix, StringComparison.Ordinal) || a.Contains("://" + prefix, StringComparison.Ordinal)))
            {
                found.Add(pid);
            }
        }

        return found;
    }

    private static string CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return ""; // gone meanwhile
        }
    }

    /// <summary>Every mount point under <paramref name="root"/>, from /proc/self/mountinfo (octal escapes decoded).</summary>
    public static List<string> MountsUnder(string root)
    {
        string prefix = root.TrimEnd('/') + "/";
        var mounts = new List<string>();
        foreach (string line in File.ReadLines("/proc/self/mountinfo"))
        {
            string[] fields = line.Split(' ');
            if (fields.Length > 4)
            {
                string mountPoint = Unescape(fields[4]);
                if (mountPoint.StartsWith(prefix, StringComparison.Ordinal) || mountPoint == root)
                {
                    mounts.Add(mountPoint);
                }
            }
        }

        return mounts;
    }

    /// <summary>Unmounts deepest first; a busy mount is detached lazily. Stacked mounts take several passes.</summary>
    private static void UnmountUnder(string root, Action<string> log)
    {
        for (int pass = 0; pass < 10; pass++)
        {
            List<string> mounts = MountsUnder(root);
            if (mounts.Count == 0)
            {
                return;
            }

            foreach (string mount in mounts.Distinct().OrderByDescending(m => m.Count(c => c == '/')).ThenByDescending(m => m.Length))
            {
                log($"cleanup: unmounting {mount}");
                try
                {
                    Mount.Detach(mount);
                }
                catch (NativeException e)
                {
                    log($"cleanup: {e.Message}; detaching lazily");
                    try
                    {
                        Mount.Detach(mount, lazy: true);
                    }
                    catch (NativeException lazy)
                    {
                        log($"cleanup: {lazy.Message}");
                    }
                }
            }
        }

        log($"cleanup: mounts still under {root}: {string.Join(", ", MountsUnder(root))}");
    }

    private static void DeleteDirectory(string root, Action<string> log)
    {
        for (int attempt = 0; attempt < 5 && Directory.Exists(root); attempt++)
        {
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                log($"cleanup: deleting {root}: {e.Message}");
                if (MountsUnder(root).Count > 0)
                {
                    UnmountUnder(root, log);
                }
            }
        }
    }

    private static string Unescape(string field)
    {
        if (!field.Contains('\\', StringComparison.Ordinal))
        {
            return field;
        }

        var text = new StringBuilder(field.Length);
        for (int i = 0; i < field.Length; i++)
        {
            if (field[i] == '\\' && IsOctal(field, i + 1))
            {
                text.Append((char)Convert.ToInt32(field.Substring(i + 1, 3), 8));
                i += 3;
            }
            else
            {
                text.Append(field[i]);
            }
        }

        return text.ToString();
    }

    private static bool IsOctal(string s, int start) =>
        start + 3 <= s.Length && s.AsSpan(start, 3).IndexOfAnyExceptInRange('0', '7') < 0;
}
