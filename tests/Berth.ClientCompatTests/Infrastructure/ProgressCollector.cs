namespace Berth.ClientCompatTests.Infrastructure;

/// <summary>
/// Collects what a client reports through <see cref="IProgress{T}"/>, on the reporting thread (<see cref="Progress{T}"/>
/// would post to the thread pool, possibly after the call returned), and completes <see cref="Done"/> at the first
/// value that satisfies <c>until</c>.
/// </summary>
public sealed class ProgressCollector<T>(Func<T, bool>? until = null) : IProgress<T>
{
    private readonly List<T> _values = [];
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Done => _done.Task;

    public IReadOnlyList<T> Values
    {
        get
        {
            lock (_values)
            {
                return [.. _values];
            }
        }
    }

    public void Report(T value)
    {
        lock (_values)
        {
            _values.Add(value);
        }

        if (until?.Invoke(value) == true)
        {
            _done.TrySetResult();
        }
    }
}
