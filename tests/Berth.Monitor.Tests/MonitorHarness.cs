using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Berth.Interop;
using Xunit;

namespace Berth.Monitor.Tests;

/// <summary>
/// Drives one berth-monitor the way berthd does: posix_spawn it with fd 3 = a sync pipe, read the sync
/// line, connect to monitor.sock, run <c>runc start</c>. Owns a temp dir and a unique container id, and
/// removes both (and any leftover monitor) on dispose, whatever the test's outcome.
/// </summary>
internal sealed class MonitorHarness : IAsyncDisposable
{
    /// <summary>The bound on every wait in these tests.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private const string Runc = "/usr/sbin/runc";

    private MonitorHarness(string id, string root)
    {
        Id = id;
        Root = root;
    }

    public string Id { get; }

    public string Root { get; }

    public string Bundle => Path.Combine(Root, "bundle");

    public string State => Path.Combine(Root, "state");

    public string RuntimeRoot => Path.Combine(Root, "runc");

    public string LogPath => Path.Combine(Root, "container-json.log");

    public string SocketPath => Path.Combine(State, "monitor.sock");

    public string ExitPath => Path.Combine(State, "exit.json");

    /// <summary>The monitor's own stderr, kept for a failing test's message.</summary>
    public string MonitorStderrPath => Path.Combine(Root, "monitor.stderr");

    public static MonitorHarness Create(params string[] args)
    {
        string id = "bm-" + Guid.NewGuid().ToString("N")[..12];
        var harness = new MonitorHarness(id, Path.Combine(Path.GetTempPath(), "berth-monitor-tests", id));
        Directory.CreateDirectory(harness.State);
        Directory.CreateDirectory(harness.RuntimeRoot);
        TestBundle.Write(harness.Bundle, id, args);
        return harness;
    }

    /// <summary>Spawns the monitor (which double-forks), checks the launcher exits 0, and returns the sync line.</summary>
    public async Task<JsonElement> LaunchAsync(bool stdin = false, bool tty = false)
    {
        (string path, List<string> argv) = MonitorCommand();
        argv.AddRange(["--id", Id, "--bundle", Bundle, "--state", State, "--runtime", Runc, "--runtime-root", RuntimeRoot, "--log", LogPath]);
        if (stdin)
        {
            argv.Add("--stdin");
        }

        if (tty)
        {
            argv.Add("--tty");
        }

        (int syncRead, int syncWrite) = ProcessControl.CreatePipe();
        int launcher;
        using (var devNull = File.OpenHandle("/dev/null", FileMode.Open, FileAccess.ReadWrite))
        using (var stderr = File.OpenHandle(MonitorStderrPath, FileMode.Create, FileAccess.Write))
        {
            int nullFd = (int)devNull.DangerousGetHandle();
            try
            {
                // fd 3 last: whatever numbers the others have, they are in place before it is set.
                launcher = Spawn.Start(path, argv, environment: null, [(nullFd, 0), (nullFd, 1), ((int)stderr.DangerousGetHandle(), 2), (syncWrite, 3)], newSession: false);
            }
            finally
            {
                ProcessControl.Close(syncWrite);
            }
        }

        await using FileStream sync = DescriptorStream.Open(syncRead, FileAccess.Read);
        Assert.Equal(0, await ReapAsync(launcher));

        // To EOF, not just a newline: EOF proves no child of the monitor kept the pipe open.
        string line = await ReadToEndAsync(sync).WaitAsync(Timeout);
        Assert.True(line.EndsWith('\n') && line.IndexOf('\n') == line.Length - 1, $"one line expected, got '{line}'{MonitorStderr()}");
        return JsonDocument.Parse(line).RootElement.Clone();
    }

    /// <summary>Connects with <c>attach</c> and reads the monitor's acknowledgement (an empty stream-0 frame).</summary>
    public async Task<Socket> AttachAsync()
    {
        Socket socket = await ConnectAsync("attach");
        byte[] ack = new byte[8];
        using var timeout = new CancellationTokenSource(Timeout);
        await ReceiveExactlyAsync(socket, ack, timeout.Token);
        Assert.Equal(new byte[8], ack);
        return socket;
    }

    public async Task<Socket> ConnectAsync(string command)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        using var timeout = new CancellationTokenSource(Timeout);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(SocketPath), timeout.Token);
        await socket.SendAsync(Encoding.ASCII.GetBytes(command + "\n"), SocketFlags.None, timeout.Token);
        return socket;
    }

    /// <summary>Reads Docker stream frames until the monitor closes the connection.</summary>
    public static async Task<(string Stdout, string Stderr)> ReadFramesAsync(Socket socket)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        var stdout = new MemoryStream();
        var stderr = new MemoryStream();
        byte[] header = new byte[8];
        while (true)
        {
            int first = await socket.ReceiveAsync(header.AsMemory(0, 1), SocketFlags.None, timeout.Token);
            if (first == 0)
            {
                return (Encoding.UTF8.GetString(stdout.ToArray()), Encoding.UTF8.GetString(stderr.ToArray()));
            }

            await ReceiveExactlyAsync(socket, header.AsMemory(1), timeout.Token);
            Assert.Equal(new byte[3], header[1..4]);
            byte[] payload = new byte[BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4))];
            await ReceiveExactlyAsync(socket, payload, timeout.Token);
            (header[0] switch
            {
                1 => stdout,
                2 => stderr,
                _ => throw new InvalidDataException($"stream {header[0]}"),
            }).Write(payload);
        }
    }

    /// <summary>Reads a <c>wait</c> client's answer: exactly one line, then EOF.</summary>
    public static async Task<JsonElement> ReadWaitAnswerAsync(Socket socket)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        var answer = new MemoryStream();
        byte[] buffer = new byte[256];
        int count;
        while ((count = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
        {
            answer.Write(buffer, 0, count);
        }

        string line = Encoding.UTF8.GetString(answer.ToArray());
        Assert.EndsWith("\n", line, StringComparison.Ordinal);
        return JsonDocument.Parse(line).RootElement.Clone();
    }

    /// <summary>Starts the created container, as berthd does once its attach clients are connected.</summary>
    public async Task StartAsync()
    {
        (int code, string output) = await RuncAsync("start", Id);
        // runc removes exec.fifo only after the process started; a container that exits at once may already be
        // deleted by its monitor by then. berthd's RuncDriver takes that as a start too.
        Assert.True(code == 0 || output.Contains("exec.fifo: no such file or directory", StringComparison.Ordinal), $"runc start: {output}");
    }

    public Task<(int ExitCode, string Output)> RuncAsync(params string[] args) =>
        RunAsync(Runc, ["--root", RuntimeRoot, .. args]);

    /// <summary>Waits until the monitor process is gone and has removed its socket.</summary>
    public async Task WaitForMonitorExitAsync()
    {
        DateTime deadline = DateTime.UtcNow + Timeout;
        while (MonitorPids().Count > 0 || File.Exists(SocketPath))
        {
            Assert.True(DateTime.UtcNow < deadline, $"monitor still running or socket left{MonitorStderr()}");
            await Task.Delay(20);
        }
    }

    public string MonitorStderr() =>
        File.Exists(MonitorStderrPath) && new FileInfo(MonitorStderrPath).Length > 0
            ? $"\nmonitor stderr:\n{File.ReadAllText(MonitorStderrPath)}"
            : string.Empty;

    public async ValueTask DisposeAsync()
    {
        _ = await RuncAsync("delete", "--force", Id);
        foreach (int pid in MonitorPids())
        {
            _ = ProcessControl.Kill(pid, 9);
        }

        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A process of ours still held something; the next run's ids differ.
        }
    }

    /// <summary>
    /// The real monitor runs in its own session, re-parented away from us: found by the unique id in
    /// its command line. A zombie has an empty command line, so only running monitors count.
    /// </summary>
    private List<int> MonitorPids()
    {
        var pids = new List<int>();
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid))
            {
                continue;
            }

            try
            {
                string[] argv = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0');
                if (argv.Contains("--foreground") && argv.Contains(Id))
                {
                    pids.Add(pid);
                }
            }
            catch (IOException)
            {
                // The process went away while we looked.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return pids;
    }

    /// <summary>
    /// berth-monitor from the build output beside the tests, run as <c>dotnet berth-monitor.dll</c>
    /// (which exercises the double fork's re-spawn through the host), or BERTH_MONITOR (e.g. the AOT binary).
    /// </summary>
    private static (string Path, List<string> Argv) MonitorCommand()
    {
        string? binary = Environment.GetEnvironmentVariable("BERTH_MONITOR");
        if (!string.IsNullOrEmpty(binary))
        {
            return (binary, [binary]);
        }

        string dotnet = Environment.ProcessPath is { } host && Path.GetFileNameWithoutExtension(host) == "dotnet"
            ? host
            : "/usr/share/dotnet/dotnet";
        return (dotnet, [dotnet, Path.Combine(AppContext.BaseDirectory, "berth-monitor.dll")]);
    }

    private static async Task<int> ReapAsync(int pid)
    {
        DateTime deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            (int reaped, WaitStatus status) = ProcessControl.Wait(pid, block: false);
            if (reaped == pid)
            {
                return status.ContainerExitCode;
            }

            Assert.True(DateTime.UtcNow < deadline, $"launcher {pid} did not exit");
            await Task.Delay(10);
        }
    }

    private static async Task ReceiveExactlyAsync(Socket socket, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (!buffer.IsEmpty)
        {
            int count = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
            if (count == 0)
            {
                throw new EndOfStreamException("the monitor closed the connection mid-frame");
            }

            buffer = buffer[count..];
        }
    }

    private static async Task<string> ReadToEndAsync(Stream stream)
    {
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return await reader.ReadToEndAsync();
    }

    private static async Task<(int, string)> RunAsync(string path, IEnumerable<string> args)
    {
        var start = new System.Diagnostics.ProcessStartInfo(path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        process.StandardInput.Close();
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(Timeout);
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }
}
