using System.Net.Sockets;

namespace Berth.Engine.Containers;

/// <summary>
/// The live side of one container: its current record (replaced whole on each change, so readers take no
/// lock), the lock that orders its state transitions, and the clients waiting on it.
/// </summary>
internal sealed class ContainerEntry(ContainerRecord record) : IDisposable
{
    private ContainerRecord _record = record;

    public ContainerRecord Record => Volatile.Read(ref _record);

    /// <summary>Held for every state transition (start, exit, remove), never by readers.</summary>
    public SemaphoreSlim Transition { get; } = new(1, 1);

    /// <summary>Completes with the exit code at the next exit.</summary>
    public TaskCompletionSource<int> NextExit { get; private set; } = NewSignal<int>();

    /// <summary>Completes when the container has been removed.</summary>
    public TaskCompletionSource<int> Removed { get; } = NewSignal<int>();

    /// <summary>Attach clients that arrived before start; start connects them to the monitor before the process runs.</summary>
    public List<TaskCompletionSource<Socket?>> PendingAttaches { get; } = [];

    /// <summary>Completes when the last run's monitor has deleted the runtime's state for this id.</summary>
    public Task RuntimeReleased { get; set; } = Task.CompletedTask;

    /// <summary>True while a rootfs mount made by this daemon is in place.</summary>
    public bool RootfsMounted { get; set; }

    public void Publish(ContainerRecord record) => Volatile.Write(ref _record, record);

    /// <summary>Signals the exit and arms the signal for the next one.</summary>
    public void SignalExit(int exitCode)
    {
        TaskCompletionSource<int> current = NextExit;
        NextExit = NewSignal<int>();
        current.TrySetResult(exitCode);
    }

    public void Dispose() => Transition.Dispose();

    private static TaskCompletionSource<T> NewSignal<T>() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
