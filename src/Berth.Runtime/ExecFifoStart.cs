using Berth.Interop;
using Microsoft.Win32.SafeHandles;

namespace Berth.Runtime;

/// <summary>
/// <c>runc start</c> without running runc. A created runc container's init waits in <c>open(exec.fifo, O_WRONLY)</c>
/// until someone opens the fifo for reading; it then writes one byte and execs the user's process. That rendezvous,
/// plus removing the fifo (which is how runc tells "created" from "running"), is all that <c>runc start</c> does for
/// a container without poststart hooks (Berth never sets hooks). Doing it here saves a Go process start and a state
/// load: about 10 ms of every container start, a tenth of a `run -d`.
/// </summary>
/// <remarks>
/// Only for runc (the fifo is its layout, <c>ROOT/ID/exec.fifo</c>); any other runtime, or a fifo that is not there,
/// goes through the runtime's own <c>start</c>. Like runc, the wait checks every 100 ms that the init still lives, so a
/// container killed between create and start cannot hang the start (the monitor then reports its exit).
/// </remarks>
internal static class ExecFifoStart
{
    private static readonly TimeSpan LivenessInterval = TimeSpan.FromMilliseconds(100);

    /// <returns>True when the container was started (or its init is already gone, which runc also counts as a start); false to use the runtime's <c>start</c>.</returns>
    public static async Task<bool> TryAsync(RuntimeOptions options, string id, int initPid, CancellationToken cancellationToken)
    {
        if (initPid <= 0 || !string.Equals(Path.GetFileName(options.RuntimePath), "runc", StringComparison.Ordinal))
        {
            return false;
        }

        string fifo = Path.Combine(options.RuntimeRoot, id, "exec.fifo");
        if (FileStatus.TryRead(fifo) is not { Type: FileStatus.S_IFIFO })
        {
            return false;
        }

        // Opened without waiting for a writer, then polled in slices: the init opens its end within microseconds of
        // create returning, and if it died instead, nothing ever would.
        SafeFileHandle reader;
        try
        {
            reader = FifoReader.Open(fifo);
        }
        catch (NativeException)
        {
            // Gone since we looked: only the monitor's `runc delete` of a container that already exited removes it.
            return true;
        }

        using (reader)
        {
            FifoWait seen = FifoReader.Wait(reader, 0);
            while (seen == FifoWait.TimedOut && IsAlive(initPid))
            {
                cancellationToken.ThrowIfCancellationRequested();
                seen = await Task.Run(() => FifoReader.Wait(reader, (int)LivenessInterval.TotalMilliseconds), cancellationToken).ConfigureAwait(false);
            }

            if (seen == FifoWait.Readable)
            {
                // The init's byte (runc's start checks it came: an empty fifo would mean a container already started).
                using var stream = new FileStream(reader, FileAccess.Read, bufferSize: 0);
                _ = stream.Read(new byte[1]);
            }
        }

        try
        {
            File.Delete(fifo);
        }
        catch (DirectoryNotFoundException)
        {
            // The process ran and exited at once, and its monitor already deleted the runtime's state: still a start.
        }

        return true;
    }

    /// <summary>Whether the process exists and is not a zombie (a dead init waiting for its monitor to reap it).</summary>
    private static bool IsAlive(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            int close = stat.LastIndexOf(')');
            return close > 0 && close + 2 < stat.Length && stat[close + 2] is not ('Z' or 'X');
        }
        catch (IOException)
        {
            return false;
        }
    }
}
