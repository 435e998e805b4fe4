using System.Diagnostics;
using System.Text.Json;
using Berth.Primitives;

namespace Berth.Runtime;

/// <summary>Drives the OCI runtime binary for the operations berthd performs itself (start, kill, delete, state).</summary>
public sealed class RuncDriver(RuntimeOptions options)
{
    // The runtime of each container started with one other than runc (HostConfig.Runtime), so that kill, pause and
    // the rest reach it through the binary and arguments that created it. Containers not named here use runc.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, OciRuntimeEntry> _selected = new(StringComparer.Ordinal);

    public RuntimeOptions Options => options;

    /// <summary>Remembers which runtime (by <c>HostConfig.Runtime</c>) drives container <paramref name="id"/>; returns it.</summary>
    public OciRuntimeEntry Select(string id, string? runtimeName)
    {
        OciRuntimeEntry runtime = options.Find(runtimeName)
            ?? throw EngineException.Invalid($"unknown or invalid runtime name: {runtimeName}");
        if (runtime.Path == options.RuntimePath && runtime.Args.Count == 0)
        {
            _selected.TryRemove(id, out _);
        }
        else
        {
            _selected[id] = runtime;
        }

        return runtime;
    }

    /// <summary>
    /// <see cref="Select"/> for a container found running at daemon start; a runtime no longer configured
    /// leaves the container to runc (the same state root) rather than failing the restore.
    /// </summary>
    public void Restore(string id, string? runtimeName)
    {
        if (options.Find(runtimeName) is not null)
        {
            Select(id, runtimeName);
        }
    }

    /// <summary>Forgets a removed container's runtime.</summary>
    public void Forget(string id) => _selected.TryRemove(id, out _);

    /// <summary>Starts a created container: its init execs the user's process.</summary>
    /// <param name="initPid">The init's host pid, to tell a dead init from a slow one on the fast path.</param>
    public async Task StartAsync(string id, int initPid, CancellationToken cancellationToken)
    {
        // runc's rendezvous done here: only for the default runc, never for a runtime a container chose.
        if (!_selected.ContainsKey(id) && await ExecFifoStart.TryAsync(options, id, initPid, cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        (int code, string error) = await RunAsync(id, ["start", id], cancellationToken).ConfigureAwait(false);
        // runc start removes exec.fifo only after the container's init has read it, i.e. after the process started.
        // A container that exits at once may already be deleted by its monitor (runc delete) by then: still a start.
        // Under load runc 1.1 polls the init every 100 ms, and when it finds it gone and the fifo deleted it says
        // "container process is already dead": the same race, also a start (the monitor reports the real exit).
        if (code != 0
            && !error.Contains("exec.fifo: no such file or directory", StringComparison.Ordinal)
            && !error.Contains("container process is already dead", StringComparison.Ordinal))
        {
            throw new EngineException(ErrorKind.Internal, $"runtime start failed: {LastMessage(error)}");
        }
    }

    /// <summary>Signals the container's init (all processes with <paramref name="all"/>); a container already gone is not an error.</summary>
    public async Task KillAsync(string id, int signal, bool all, CancellationToken cancellationToken)
    {
        string[] args = all ? ["kill", "--all", id, signal.ToString(System.Globalization.CultureInfo.InvariantCulture)] : ["kill", id, signal.ToString(System.Globalization.CultureInfo.InvariantCulture)];
        (int code, string error) = await RunAsync(id, args, cancellationToken).ConfigureAwait(false);
        if (code != 0 && !IsGone(error))
        {
            throw new EngineException(ErrorKind.Internal, $"runtime kill failed: {LastMessage(error)}");
        }
    }

    /// <summary>Freezes every process of the container (the freezer cgroup).</summary>
    public async Task PauseAsync(string id, CancellationToken cancellationToken)
    {
        (int code, string error) = await RunAsync(id, ["pause", id], cancellationToken).ConfigureAwait(false);
        if (code != 0)
        {
            throw new EngineException(ErrorKind.Internal, $"runtime pause failed: {LastMessage(error)}");
        }
    }

    /// <summary>Thaws a paused container.</summary>
    public async Task ResumeAsync(string id, CancellationToken cancellationToken)
    {
        (int code, string error) = await RunAsync(id, ["resume", id], cancellationToken).ConfigureAwait(false);
        // `kill --all` thaws a frozen container itself (runc freezes, signals, thaws): not paused is fine then.
        if (code != 0 && !IsGone(error) && !error.Contains("not paused", StringComparison.Ordinal))
        {
            throw new EngineException(ErrorKind.Internal, $"runtime resume failed: {LastMessage(error)}");
        }
    }

    public async Task DeleteAsync(string id, CancellationToken cancellationToken)
    {
        (int code, string error) = await RunAsync(id, ["delete", "--force", id], cancellationToken).ConfigureAwait(false);
        if (code != 0 && !IsGone(error))
        {
            throw new EngineException(ErrorKind.Internal, $"runtime delete failed: {LastMessage(error)}");
        }
    }

    /// <summary>The runtime's version line, e.g. <c>runc version 1.1.5</c>, and its commit when it prints one.</summary>
    public async Task<(string Version, string Commit)> VersionAsync(CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(options.RuntimePath, "--version") { RedirectStandardOutput = true, UseShellExecute = false };
        try
        {
            using Process process = Process.Start(start)!;
            string output = await process.StandardOutput.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            string version = lines.Length > 0 ? lines[0].Split(' ').Last() : "";
            string commit = lines.FirstOrDefault(l => l.StartsWith("commit:", StringComparison.Ordinal))?["commit:".Length..].Trim() ?? "";
            return (version, commit);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return ("", "");
        }
    }

    /// <summary>The host pids of every process in the container (<c>runc ps --format json</c>).</summary>
    public async Task<IReadOnlySet<int>> ProcessesAsync(string id, CancellationToken cancellationToken)
    {
        (int code, string stdout, string stderr) = await RunCapturedAsync(id, ["ps", "--format", "json", id], cancellationToken).ConfigureAwait(false);
        if (code != 0)
        {
            throw new EngineException(ErrorKind.Internal, $"runtime ps failed: {LastMessage(stderr + stdout)}");
        }

        return JsonSerializer.Deserialize(stdout, RuntimeJsonContext.Default.ListInt32)?.ToHashSet() ?? [];
    }

    private async Task<(int Code, string Error)> RunAsync(string id, string[] args, CancellationToken cancellationToken)
    {
        (int code, string stdout, string stderr) = await RunCapturedAsync(id, args, cancellationToken).ConfigureAwait(false);
        return (code, stderr + stdout);
    }

    private Task<(int Code, string Stdout, string Stderr)> RunCapturedAsync(string id, string[] args, CancellationToken cancellationToken)
    {
        OciRuntimeEntry runtime = _selected.TryGetValue(id, out OciRuntimeEntry? selected) ? selected : new OciRuntimeEntry(options.RuntimePath, []);
        return HostCommand.RunCapturedAsync(runtime.Path, [.. runtime.Args, "--root", options.RuntimeRoot, .. args], reason => $"OCI runtime {runtime.Path} cannot be run: {reason} (is runc installed?)", cancellationToken);
    }

    private static bool IsGone(string error) =>
        error.Contains("does not exist", StringComparison.OrdinalIgnoreCase)
        || error.Contains("not running", StringComparison.OrdinalIgnoreCase)
        || error.Contains("process already finished", StringComparison.OrdinalIgnoreCase);

    /// <summary>runc prints JSON log lines or plain text; the message is what users need.</summary>
    public static string LastMessage(string output)
    {
        string line = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "";
        if (line.StartsWith('{'))
        {
            try
            {
                using var doc = JsonDocument.Parse(line);
                if (doc.RootElement.TryGetProperty("msg", out JsonElement msg))
                {
                    return msg.GetString() ?? line;
                }
            }
            catch (JsonException)
            {
            }
        }

        return line.StartsWith("time=", StringComparison.Ordinal) && line.Contains(" msg=", StringComparison.Ordinal)
            ? LogfmtValue(line[(line.IndexOf(" msg=", StringComparison.Ordinal) + 5)..])
            : line;
    }

    /// <summary>A logrus text value: a bare word, or a Go-quoted string (<c>"exec: \"x\": not found"</c>) followed by other fields.</summary>
    private static string LogfmtValue(string text)
    {
        if (!text.StartsWith('"'))
        {
            int space = text.IndexOf(' ', StringComparison.Ordinal);
            return space < 0 ? text : text[..space];
        }

        var value = new System.Text.StringBuilder();
        for (int i = 1; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '"')
            {
                break;
            }

            if (c == '\\' && i + 1 < text.Length)
            {
                char next = text[++i];
                value.Append(next switch { 'n' => '\n', 't' => '\t', _ => next });
                continue;
            }

            value.Append(c);
        }

        return value.ToString();
    }
}
