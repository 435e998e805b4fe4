using Berth.Interop;

namespace Berth.Monitor;

/// <summary>fd 3 on entry: the write end of berthd's sync pipe, which gets one line, <c>{"pid":N}</c> or <c>{"error":...}</c>.</summary>
internal sealed class SyncPipe
{
    public const int Fd = 3;

    private FileStream? _pipe;

    private SyncPipe(FileStream? pipe) => _pipe = pipe;

    /// <summary>Takes fd 3 if it is open (it is not when the monitor is run by hand).</summary>
    public static SyncPipe Open()
    {
        if (!FileDescriptorFlags.IsOpen(Fd))
        {
            return new SyncPipe(null);
        }

        // Else runc and whatever it leaves running would inherit it, and berthd would not read EOF after our line.
        FileDescriptorFlags.SetCloseOnExec(Fd);
        return new SyncPipe(DescriptorStream.Open(Fd, FileAccess.Write));
    }

    /// <summary>Best effort, for errors before the monitor took fd 3: berthd learns why instead of reading a bare EOF.</summary>
    public static void TryReportEarlyError(string message)
    {
        if (FileDescriptorFlags.IsOpen(Fd))
        {
            using FileStream pipe = DescriptorStream.Open(Fd, FileAccess.Write);
            try
            {
                pipe.Write(MonitorJson.ErrorLine(message));
            }
            catch (IOException)
            {
                // berthd stopped listening.
            }
        }
    }

    /// <summary>Writes the one line and closes the pipe: the line is all berthd reads from it.</summary>
    public async Task SendAsync(byte[] line)
    {
        FileStream? pipe = Interlocked.Exchange(ref _pipe, null);
        if (pipe is null)
        {
            return;
        }

        try
        {
            await pipe.WriteAsync(line).ConfigureAwait(false);
        }
        catch (IOException)
        {
            // berthd is gone (EPIPE); the container goes on and a restarted berthd finds this monitor.
        }
        finally
        {
            await pipe.DisposeAsync().ConfigureAwait(false);
        }
    }
}
