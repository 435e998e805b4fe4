using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using System.Text.Json;
using Berth.Interop;

namespace Berth.IntegrationTests.Infrastructure;

/// <summary>
/// One real berthd on its own temporary roots: <c>/tmp/bi-XXXXXX/{d,x}</c> (kept short: a container's monitor
/// socket, <c>x/containers/ID/monitor.sock</c>, must fit a unix socket address). It can be stopped, killed and
/// started again on the same roots (live restore). Disposing stops it and removes everything it left behind.
/// </summary>
public sealed class BerthDaemon : IAsyncDisposable
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(15);
    private const int SIGTERM = 15;
    private const int SIGKILL = 9;

    /// <summary>Daemons not yet disposed, for the clean-up on an interrupted run.</summary>
    private static readonly List<BerthDaemon> Live = [];
    private static PosixSignalRegistration[]? SignalRegistrations;

    private readonly string _name;
    private Process? _process;
    private HttpClient? _api;
    private bool _disposed;

    private BerthDaemon(string name, string root)
    {
        _name = name;
        Root = root;
        Docker = new DockerCli(SocketPath, Path.Combine(root, "docker-config"));
        Berth = new DockerCli(SocketPath, Path.Combine(root, "berth-config"), Binaries.Cli);
        // Best effort when the test host is stopped (Ctrl+C, SIGTERM) before the fixtures are disposed.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => CleanUpAtExit();
        lock (Live)
        {
            Live.Add(this);
            SignalRegistrations ??= [.. new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP }.Select(signal => PosixSignalRegistration.Create(signal, OnSignal))];
        }
    }

    /// <summary>The test host is being stopped: leave no daemon, container or mount behind, then let the signal do its work.</summary>
    private static void OnSignal(PosixSignalContext context)
    {
        BerthDaemon[] live;
        lock (Live)
        {
            live = [.. Live];
        }

        foreach (BerthDaemon daemon in live)
        {
            daemon.CleanUpAtExit();
        }
    }

    /// <summary>The temporary directory everything lives under.</summary>
    public string Root { get; }

    public string DataRoot => Path.Combine(Root, "d");

    public string ExecRoot => Path.Combine(Root, "x");

    public string RuntimeRoot => Path.Combine(ExecRoot, "runc");

    public string SocketPath => Path.Combine(Root, "berth.sock");

    public string LogPath => Path.Combine(Root, "berthd.log");

    /// <summary>This daemon's default bridge (unique per daemon: daemons of parallel tests must not share one).</summary>
    public string BridgeName => "bt" + Path.GetFileName(Root)["bi-".Length..];

    /// <summary>The real docker CLI, pointed at this daemon.</summary>
    public DockerCli Docker { get; }

    /// <summary>Berth's own CLI against this daemon, with the same calls as <see cref="Docker"/>.</summary>
    public DockerCli Berth { get; }

    /// <summary>An HTTP client on the socket; a new one after each start (a killed daemon's pooled connections are dead).</summary>
    public HttpClient Api => _api ?? throw new InvalidOperationException("berthd is not started");

    public int? Pid => _process is { HasExited: false } p ? p.Id : null;

    /// <summary>More berthd flags for the next start (e.g. --config-file).</summary>
    public IReadOnlyList<string> ExtraArgs { get; set; } = [];

    /// <summary>
    /// A command berthd's shell is started through (e.g. <c>unshare --pid --fork --mount-proc</c>: berthd then runs in
    /// namespaces of its own). The pid held is then the launcher's, which must take berthd with it when killed.
    /// </summary>
    public IReadOnlyList<string> Launcher { get; set; } = [];

    /// <summary>
    /// Shell commands run just before berthd, in the launcher's namespaces if any (e.g. setting a sysctl there, or
    /// <c>trap '' HUP INT</c> to start it with those ignored, as <c>nohup berthd &amp;</c> from a script does).
    /// </summary>
    public string ShellPrelude { get; set; } = "";

    /// <summary>
    /// Writes <paramref name="json"/> as ROOT/daemon.json and adds <c>--config-file</c> for it to <see cref="ExtraArgs"/>
    /// (before the next start); returns the file's path (certs.d goes beside it).
    /// </summary>
    public async Task<string> UseConfigFileAsync(string json)
    {
        string path = Path.Combine(Root, "daemon.json");
        await File.WriteAllTextAsync(path, json);
        ExtraArgs = [.. ExtraArgs, "--config-file", path];
        return path;
    }

    /// <summary>Where disposing keeps berthd's log (beside the test assembly) once the temp root is gone.</summary>
    public string KeptLogPath => Path.Combine(AppContext.BaseDirectory, "berthd-logs", $"{_name}.log");

    /// <summary>Creates the temp roots (nothing runs yet).</summary>
    public static BerthDaemon Create(string name)
    {
        for (int attempt = 0; ; attempt++)
        {
            string root = "/tmp/bi-" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3));
            if (Directory.Exists(root) && attempt < 10)
            {
                continue;
            }

            Directory.CreateDirectory(root);
            Directory.CreateDirectory(Path.Combine(root, "docker-config"));
            return new BerthDaemon(name, root);
        }
    }

    /// <summary>Starts berthd on the roots and waits (bounded) until <c>/_ping</c> answers.</summary>
    public async Task StartAsync()
    {
        if (_process is { HasExited: false })
        {
            throw new InvalidOperationException("berthd is already running");
        }

        Binaries binaries = Binaries.Current;
        var info = new ProcessStartInfo(Launcher.Count > 0 ? Launcher[0] : "/bin/sh") { UseShellExecute = false };
        if (Launcher.Count > 0)
        {
            foreach (string arg in Launcher.Skip(1))
            {
                info.ArgumentList.Add(arg);
            }

            info.ArgumentList.Add("/bin/sh");
        }

        // exec: the pid we hold is berthd's (or its launcher's). Its output goes to a file, so nothing (no monitor, no runc) can hold a pipe of ours.
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add((ShellPrelude.Length > 0 ? ShellPrelude + " && " : "") + "exec \"$@\" </dev/null >>\"$BERTH_TEST_LOG\" 2>&1");
        info.ArgumentList.Add("sh");
        string[] args =
        [
            binaries.Daemon, "--monitor", binaries.Monitor, "--data-root", DataRoot, "--exec-root", ExecRoot,
            "-H", "unix://" + SocketPath, "--log-level", "debug", "--bridge-name", BridgeName, .. ExtraArgs,
        ];
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["BERTH_TEST_LOG"] = LogPath;
        File.AppendAllText(LogPath, $"==== starting berthd ({_name}) at {DateTime.UtcNow:O}\n");
        _process?.Dispose(); // one that was killed
        _process = Process.Start(info) ?? throw new InvalidOperationException("could not start berthd");
        _api?.Dispose();
        _api = EngineApi.CreateClient(SocketPath);
        await WaitForPingAsync(_process);
    }

    private async Task WaitForPingAsync(Process process)
    {
        var clock = Stopwatch.StartNew();
        Exception? last = null;
        while (clock.Elapsed < StartTimeout)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"berthd exited with {process.ExitCode} before answering /_ping\n{LogTail()}");
            }

            if (File.Exists(SocketPath))
            {
                try
                {
                    using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                    using HttpResponseMessage response = await Api.GetAsync("/_ping", cts.Token);
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        return;
                    }

                    last = new InvalidOperationException($"/_ping answered {(int)response.StatusCode}");
                }
                catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException)
                {
                    last = e;
                }
            }

            // Nothing to wait on but the socket coming up: poll briefly, bounded by StartTimeout, and by the process's exit.
            await Task.WhenAny(process.WaitForExitAsync(), Task.Delay(50));
        }

        throw new TimeoutException($"berthd did not answer /_ping within {StartTimeout.TotalSeconds:F0} s ({last?.Message})\n{LogTail()}");
    }

    /// <summary>
    /// Creates an image offline with Berth's <c>POST /berth/images/bootstrap</c> and checks it is there. A
    /// <paramref name="timeout"/> beyond the API client's (debian's first debootstrap on a host takes minutes) gets a client of its own.
    /// </summary>
    public async Task BootstrapAsync(string name, TimeSpan? timeout = null)
    {
        using HttpClient? patient = timeout is { } t ? EngineApi.CreateClient(SocketPath, t) : null;
        using HttpResponseMessage response = await (patient ?? Api).PostAsync($"/berth/images/bootstrap?name={Uri.EscapeDataString(name)}", null);
        string body = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"bootstrap {name}: {(int)response.StatusCode} {body}");
        }

        foreach (string line in body.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using var doc = JsonDocument.Parse(line);
            if (doc.RootElement.TryGetProperty("error", out JsonElement error) && error.ValueKind == JsonValueKind.String)
            {
                throw new InvalidOperationException($"bootstrap {name}: {error.GetString()}\n{body}");
            }
        }

        using HttpResponseMessage inspect = await Api.GetAsync($"/images/{name}/json");
        if (inspect.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"bootstrap {name} reported success but /images/{name}/json answers {(int)inspect.StatusCode}: {await inspect.Content.ReadAsStringAsync()}");
        }
    }

    /// <summary>SIGTERM, a bounded wait, then SIGKILL. Returns berthd's exit code (137 when it had to be killed).</summary>
    public async Task<int?> StopAsync()
    {
        if (_process is null)
        {
            return null;
        }

        Process process = _process;
        if (!process.HasExited)
        {
            ProcessControl.Kill(process.Id, SIGTERM);
            using var cts = new CancellationTokenSource(StopTimeout);
            try
            {
                await process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                File.AppendAllText(LogPath, $"==== berthd ignored SIGTERM for {StopTimeout.TotalSeconds:F0} s: SIGKILL\n");
                await KillAsync();
            }
        }

        int code = process.ExitCode;
        process.Dispose();
        _process = null;
        return code;
    }

    /// <summary>SIGKILL berthd (a crash, as far as it can tell) and wait for it to be gone.</summary>
    public async Task KillAsync()
    {
        Process process = _process ?? throw new InvalidOperationException("berthd is not started");
        if (!process.HasExited)
        {
            ProcessControl.Kill(process.Id, SIGKILL);
        }

        using var cts = new CancellationTokenSource(StopTimeout);
        await process.WaitForExitAsync(cts.Token);
    }

    /// <summary>The end of berthd's log, for failure messages.</summary>
    public string LogTail(int lines = 40)
    {
        try
        {
            string[] all = File.ReadAllLines(LogPath);
            return $"--- berthd log ({LogPath}), last {Math.Min(lines, all.Length)} lines ---\n" + string.Join('\n', all.TakeLast(lines));
        }
        catch (IOException e)
        {
            return $"(no berthd log: {e.Message})";
        }
    }

    private void CleanUpAtExit()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_process is { HasExited: false } process)
        {
            ProcessControl.Kill(process.Id, SIGKILL);
        }

        HostCleanup.RunAsync(Root, RuntimeRoot, _ => { }).Wait(TimeSpan.FromSeconds(20));
        HostCleanup.RemoveNetworkingAsync(BridgeName, _ => { }).Wait(TimeSpan.FromSeconds(20));
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        lock (Live)
        {
            Live.Remove(this);
        }

        var notes = new List<string>();
        try
        {
            int? code = await StopAsync();
            notes.Add($"berthd stopped with exit code {code?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "(not running)"}");
        }
        catch (Exception e)
        {
            notes.Add($"stopping berthd failed: {e}");
        }

        _api?.Dispose();
        await HostCleanup.RemoveNetworkingAsync(BridgeName, notes.Add);
        await HostCleanup.RunAsync(Root, RuntimeRoot, notes.Add, beforeDelete: KeepLog);
        void KeepLog()
        {
            // The temp root goes away: keep berthd's log (and what cleanup did) beside the test assembly for a post-mortem.
            try
            {
                Directory.CreateDirectory(Path.GetDirectoryName(KeptLogPath)!);
                File.AppendAllLines(LogPath, notes.Select(n => "==== " + n));
                File.Copy(LogPath, KeptLogPath, overwrite: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
