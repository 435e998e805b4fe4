using System.Text.Json;
using Berth.Interop;

namespace Berth.Monitor;

/// <summary>The runtime (runc) commands the monitor runs, and what it reads back from them.</summary>
internal sealed class OciRuntime(MonitorOptions options, ChildReaper reaper)
{
    // runc delete can hang on a frozen cgroup; the monitor must still exit.
    private static readonly TimeSpan DeleteTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Starts <c>runtime create</c> with the container's stdio on fds 0, 1 and 2.</summary>
    /// <remarks>With <c>--tty</c> the runtime also gets <c>--console-socket</c>: the container's stdio is then a PTY, and fds 0 to 2 are the runtime's own.</remarks>
    public (int Pid, Task<WaitStatus> Exited) Create(int stdin, int stdout, int stderr)
    {
        List<string> argv =
        [
            .. options.RuntimeCommand(), "--log", options.RuntimeLogPath, "--log-format", "json",
            "create", "--bundle", options.Bundle, "--pid-file", options.InitPidPath,
        ];
        if (options.Tty)
        {
            argv.AddRange(["--console-socket", options.ConsoleSocketPath]);
        }

        argv.Add(options.Id);
        return reaper.Spawn(options.Runtime, argv, [(stdin, 0), (stdout, 1), (stderr, 2)]);
    }

    /// <summary>Runs <c>runtime delete --force</c>; its failure (e.g. berthd deleted first) is not ours to report.</summary>
    public async Task DeleteAsync()
    {
        try
        {
            (_, Task<WaitStatus> exited) = reaper.Spawn(
                options.Runtime,
                [.. options.RuntimeCommand(), "delete", "--force", options.Id],
                []);
            await exited.WaitAsync(DeleteTimeout).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NativeException or TimeoutException)
        {
            await Console.Error.WriteLineAsync($"berth-monitor: runtime delete: {e.Message}").ConfigureAwait(false);
        }
    }

    /// <summary>The container init's pid, from the runtime's pid file.</summary>
    public async Task<int> ReadInitPidAsync()
    {
        string text = await File.ReadAllTextAsync(options.InitPidPath).ConfigureAwait(false);
        return int.TryParse(text.Trim(), out int pid) && pid > 0
            ? pid
            : throw new InvalidDataException($"bad pid file {options.InitPidPath}: '{text}'");
    }

    /// <summary>Why create failed: the last error message in the runtime's json log, else its exit status.</summary>
    public string DescribeFailure(WaitStatus status)
    {
        string? message = null;
        try
        {
            message = LastLogMessage(File.ReadAllLines(options.RuntimeLogPath));
        }
        catch (IOException)
        {
            // No log (the runtime died before writing one): the exit status is all there is.
        }

        return message ?? (status.Exited
            ? $"runtime create exited with status {status.ExitCode}"
            : $"runtime create killed by signal {status.TermSignal}");
    }

    /// <summary>The last error-level message of a runtime json log, or null when there is none (or no log).</summary>
    public static string? ErrorMessage(string logPath)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(logPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        for (int i = lines.Length - 1; i >= 0; i--)
        {
            try
            {
                using var doc = JsonDocument.Parse(lines[i]);
                if (doc.RootElement.TryGetProperty("level", out JsonElement level) && level.ValueEquals("error"u8)
                    && doc.RootElement.TryGetProperty("msg", out JsonElement msg) && msg.ValueKind == JsonValueKind.String)
                {
                    return msg.GetString();
                }
            }
            catch (JsonException)
            {
            }
        }

        return null;
    }

    // runc writes {"level":"error","msg":"...","time":"..."} lines, with debug and warning lines among them.
    private static string? LastLogMessage(string[] lines)
    {
        string? latest = null;
        for (int i = lines.Length - 1; i >= 0; i--)
        {
            try
            {
                using var doc = JsonDocument.Parse(lines[i]);
                if (!doc.RootElement.TryGetProperty("msg", out JsonElement msg) || msg.ValueKind != JsonValueKind.String)
                {
                    continue;
                }

                if (doc.RootElement.TryGetProperty("level", out JsonElement level) && level.ValueEquals("error"u8))
                {
                    return msg.GetString();
                }

                latest ??= msg.GetString();
            }
            catch (JsonException)
            {
                // Not a json line (a runtime that ignores --log-format): skip it.
            }
        }

        return latest;
    }
}
