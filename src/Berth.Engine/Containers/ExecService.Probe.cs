using System.Buffers.Binary;
using Berth.Api.Types;

namespace Berth.Engine.Containers;

/// <summary>Execs the engine runs for itself (health checks): created and started like the API's, output captured.</summary>
public sealed partial class ExecService
{
    /// <summary>Docker keeps the first 4 KiB of a probe's output.</summary>
    public const int MaxProbeOutput = 4096;

    /// <summary>
    /// Runs <paramref name="command"/> in the container and returns its exit code and output (stdout and stderr as
    /// they came, at most <see cref="MaxProbeOutput"/> bytes); null when it outlived <paramref name="timeout"/>.
    /// </summary>
    internal async Task<(int ExitCode, string Output)?> ProbeAsync(string containerId, IReadOnlyList<string> command, TimeSpan timeout, CancellationToken cancellationToken)
    {
        string execId = Create(containerId, new ExecCreateRequest { Cmd = command, AttachStdout = true, AttachStderr = true }).Id;
        var captured = new MemoryStream();
        try
        {
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            limit.CancelAfter(timeout);
            try
            {
                await StartAsync(execId, () => Task.FromResult<Stream>(captured), limit.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                KillProbe(containerId, execId);
                return null;
            }

            return (Inspect(execId).ExitCode ?? -1, Demultiplex(captured.ToArray()));
        }
        finally
        {
            _execs.TryRemove(execId, out _);
        }
    }

    /// <summary>
    /// A probe past its timeout is killed, as Docker does, so hanging checks do not pile up in the container. On a busy
    /// host the timeout can come before the runtime has even started the probe (no pid yet): then the pid is watched
    /// for, briefly, and the probe killed when it appears.
    /// </summary>
    private void KillProbe(string containerId, string execId)
    {
        string pidFile = Runtime.MonitorLauncher.ExecPidPath(options.ContainerStateDirectory(containerId), execId);
        if (TryKill(pidFile))
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            for (int i = 0; i < 200 && !TryKill(pidFile); i++)
            {
                await Task.Delay(50).ConfigureAwait(false);
            }
        });
    }

    /// <returns>True once the probe's process was signalled (or is known to be gone).</returns>
    private static bool TryKill(string pidFile)
    {
        try
        {
            if (File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile).Trim(), out int pid) && pid > 0)
            {
                Interop.ProcessControl.Kill(pid, Signals.SIGKILL);
                return true;
            }

            return false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Interop.NativeException)
        {
            return true; // gone already
        }
    }

    /// <summary>The payloads of Docker stream frames (8-byte header, then the bytes), in order, cut at the output limit.</summary>
    private static string Demultiplex(byte[] frames)
    {
        var output = new MemoryStream();
        int offset = 0;
        while (offset + 8 <= frames.Length && output.Length < MaxProbeOutput)
        {
            int length = (int)BinaryPrimitives.ReadUInt32BigEndian(frames.AsSpan(offset + 4, 4));
            int available = Math.Min(length, frames.Length - offset - 8);
            output.Write(frames, offset + 8, (int)Math.Min(available, MaxProbeOutput - output.Length));
            offset += 8 + length;
        }

        return System.Text.Encoding.UTF8.GetString(output.GetBuffer(), 0, (int)output.Length);
    }
}
