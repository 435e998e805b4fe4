using Berth.Primitives;

namespace Berth.Distribution;

/// <summary>
/// A read-only pass-through stream that reports how many bytes went by (Docker's per-layer "Downloading" and
/// "Pushing" with current/total), at most every <see cref="Interval"/> and once at the end, so a fast transfer does
/// not turn into a flood of progress messages.
/// </summary>
internal sealed class ProgressStream(Stream inner, long total, Action<long> report) : ReadOnlyWrapperStream(inner)
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(200);
    private long _position;
    private long _lastReport = Environment.TickCount64;
    private bool _reportedEnd;

    public override long Length => total;

    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException();
    }

    public override int Read(Span<byte> buffer) => Count(Inner.Read(buffer));

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        Count(await Inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false));

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
}
