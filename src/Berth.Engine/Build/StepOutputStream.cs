using System.Buffers.Binary;
using System.Text;

namespace Berth.Engine.Build;

/// <summary>
/// Where a RUN step's log stream goes while the step runs: the multiplexed frames (8-byte header, then stdout or
/// stderr bytes) are taken apart as they arrive and their text handed on at once, so the client sees each line
/// when the command prints it rather than when the step ends.
/// </summary>
internal sealed class StepOutputStream(Func<string, Task> write) : Stream
{
    private readonly MemoryStream _pending = new();
    private readonly Decoder _utf8 = Encoding.UTF8.GetDecoder();

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("written asynchronously only");

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        _pending.Write(buffer.Span);
        byte[] bytes = _pending.GetBuffer();
        int length = (int)_pending.Length;
        int offset = 0;
        var text = new StringBuilder();
        while (offset + 8 <= length)
        {
            int size = (int)BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(offset + 4, 4));
            if (offset + 8 + size > length)
            {
                break;
            }

            char[] chars = new char[_utf8.GetCharCount(bytes, offset + 8, size)];
            _utf8.GetChars(bytes, offset + 8, size, chars, 0);
            text.Append(chars);
            offset += 8 + size;
        }

        // Keep the incomplete frame for the next write.
        byte[] rest = bytes[offset..length];
        _pending.SetLength(0);
        _pending.Write(rest);
        if (text.Length > 0)
        {
            await write(text.ToString()).ConfigureAwait(false);
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _pending.Dispose();
        }

        base.Dispose(disposing);
    }
}
