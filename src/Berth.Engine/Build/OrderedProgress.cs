namespace Berth.Engine.Build;

/// <summary>
/// The build output when stages build at the same time: the output of the first unfinished stage (in Dockerfile
/// order) goes to the client as it is written, the others' is held until every stage before them has finished, so
/// the stream reads as the classic builder's, one stage after the other, and the running stage's lines stay live.
/// </summary>
internal sealed class OrderedProgress(BuildService.Progress progress, int slots) : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly List<string>[] _held = [.. Enumerable.Range(0, slots).Select(_ => new List<string>())];
    private readonly bool[] _finished = new bool[slots];
    private int _current;

    public void Dispose() => _gate.Dispose();

    public async Task WriteAsync(int slot, string text)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (slot == _current)
            {
                await progress.WriteAsync(text).ConfigureAwait(false);
            }
            else
            {
                _held[slot].Add(text);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The stage in <paramref name="slot"/> is done: the next ones' held output follows.</summary>
    public async Task CompleteAsync(int slot)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            _finished[slot] = true;
            while (_current < slots && _finished[_current])
            {
                _current++;
                await ReleaseHeldAsync(_current).ConfigureAwait(false);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>A stage failed: everything held goes out, in order, before the error.</summary>
    public async Task FlushAllAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            for (; _current < slots; _current++)
            {
                await ReleaseHeldAsync(_current).ConfigureAwait(false);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task ReleaseHeldAsync(int slot)
    {
        if (slot >= slots)
        {
            return;
        }

        foreach (string text in _held[slot])
        {
            await progress.WriteAsync(text).ConfigureAwait(false);
        }

        _held[slot].Clear();
    }
}
