namespace Berth.Distribution;

/// <summary>
/// A read-only pass-through stream that reports how many bytes went by (Docker's per-layer "Downloading" and
/// "Pushing" with current/total), at most every <see cref="Interval"/> and once at the end, so a fast transfer does
/// not turn into a flood of progress messages.
/// </summary>
internal sealed class ProgressStream(Stream inner, long total, Action<long> report) : Stream
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(200);
    private long _position;
    private long _lastReport = Environment.TickCount64;
    private bool _reportedEnd;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => total;

    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        Count(await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    private int Count(int read)
    {
        _position += read;
        long now = Environment.TickCount64;
        bool end = read == 0 || _position >= total;
        if ((end && !_reportedEnd) || now - _lastReport >= Interval.TotalMilliseconds)
        {
            _reportedEnd |= end;
            _lastReport = now;
            report(_position);
        }

        return read;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
