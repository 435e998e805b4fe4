using Berth.Interop;

namespace Berth.Monitor;

/// <summary>
/// Copies one of the container's output pipes (stdout or stderr) into the json-file log and to every
/// attach client. A pipe cannot be read through the runtime's epoll loop, so each pump blocks in
/// read(2) on a small thread of its own instead of holding a pool thread for the container's lifetime.
/// </summary>
internal sealed class OutputPump
{
    /// <summary>The read size; also where Docker splits long lines in its json-file log.</summary>
    public const int ChunkSize = 16 * 1024;

    private readonly FileStream _pipe;
    private readonly int _stream;
    private readonly JsonFileLogWriter _log;
    private readonly AttachServer _attach;
    private readonly Lock _gate;
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <param name="fd">The read end of the pipe; the pump owns and closes it.</param>
    /// <param name="stream">1 for stdout, 2 for stderr (the attach frame's stream byte).</param>
    /// <param name="gate">Shared by both pumps, so log lines and frames of one chunk are never interleaved with another's.</param>
    public OutputPump(int fd, int stream, JsonFileLogWriter log, AttachServer attach, Lock gate)
    {
        _pipe = DescriptorStream.Open(fd, FileAccess.Read);
        _stream = stream;
        _log = log;
        _attach = attach;
        _gate = gate;
    }

    /// <summary>Completes when the pipe reached EOF (every writer closed it) and all it held was delivered.</summary>
    public Task Drained => _drained.Task;

    public void Start() => new Thread(Run) { IsBackground = true, Name = _stream == 1 ? "stdout" : "stderr" }.Start();

    private void Run()
    {
        // The frame header sits right before the data, so a chunk goes to a client in one send.
        byte[] frame = new byte[AttachServer.FrameHeaderLength + ChunkSize];
        frame[0] = (byte)_stream;
        try
        {
            int count;
            while ((count = _pipe.Read(frame, AttachServer.FrameHeaderLength, ChunkSize)) > 0)
            {
                DateTime now = DateTime.UtcNow;
                System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(4), (uint)count);
                lock (_gate)
                {
                    WriteLog(frame.AsSpan(AttachServer.FrameHeaderLength, count), now);
                    _attach.Broadcast(frame.AsSpan(0, AttachServer.FrameHeaderLength + count));
                }
            }

            lock (_gate)
            {
                _log.Complete(_stream, DateTime.UtcNow);
            }
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"berth-monitor: reading {Thread.CurrentThread.Name}: {e.Message}");
        }
        finally
        {
            _pipe.Dispose();
            _drained.TrySetResult();
        }
    }

    private void WriteLog(ReadOnlySpan<byte> data, DateTime now)
    {
        try
        {
            _log.Write(_stream, data, now);
        }
        catch (IOException e)
        {
            // A full disk must not stop the container's output from reaching attach clients.
            Console.Error.WriteLine($"berth-monitor: writing log: {e.Message}");
        }
    }
}
