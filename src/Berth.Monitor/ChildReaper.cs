using Berth.Interop;

namespace Berth.Monitor;

/// <summary>
/// Reaps every child with waitpid(-1), as a subreaper must (orphans of the container are re-parented
/// to us), and completes the task of each child someone is watching. waitpid has no async form, so it
/// blocks on a thread of its own rather than on a pool thread.
/// </summary>
internal sealed class ChildReaper
{
    private readonly Lock _gate = new();
    private readonly Dictionary<int, TaskCompletionSource<WaitStatus>> _watched = [];

    // Set by a spawn, for a reaper that found no children: an object monitor, as nothing here is disposable.
    private readonly object _childAdded = new();
    private bool _childAddedPending;

    // Children reaped before anyone watched them. The container's init can die before the monitor
    // has read its pid, and so can a detached exec's process (the runtime hands us its pid only in a
    // file). Strays are kept, but only the most recent few once init is known, so they cannot pile up.
    private const int MaxStrays = 256;
    private readonly Dictionary<int, WaitStatus> _unclaimed = [];
    private readonly Queue<int> _strayOrder = new();
    private bool _initAdopted;

    public void Start() => new Thread(Run) { IsBackground = true, Name = "reaper" }.Start();

    /// <summary>Spawns a child and watches it.</summary>
    /// <param name="fds">(source, target) pairs dup2'ed in the child.</param>
    public (int Pid, Task<WaitStatus> Exited) Spawn(string path, IReadOnlyList<string> argv, IReadOnlyList<(int Source, int Target)> fds)
    {
        // Under the lock, so the reaper cannot take the new pid for a stray before it is watched.
        lock (_gate)
        {
            int pid = Interop.Spawn.Start(path, argv, environment: null, fds, newSession: false);
            Task<WaitStatus> exited = WatchLocked(pid);
            lock (_childAdded)
            {
                _childAddedPending = true;
                System.Threading.Monitor.Pulse(_childAdded);
            }

            return (pid, exited);
        }
    }

    /// <summary>Watches a descendant re-parented to us (the container's init); from now on strays are dropped.</summary>
    public Task<WaitStatus> Adopt(int pid)
    {
        lock (_gate)
        {
            Task<WaitStatus> exited = WatchLocked(pid);
            _initAdopted = true;
            return exited;
        }
    }

    /// <summary>Watches another descendant re-parented to us (a detached exec's process), perhaps already reaped.</summary>
    public Task<WaitStatus> Watch(int pid)
    {
        lock (_gate)
        {
            return WatchLocked(pid);
        }
    }

    private Task<WaitStatus> WatchLocked(int pid)
    {
        if (_unclaimed.Remove(pid, out WaitStatus status))
        {
            return Task.FromResult(status);
        }

        var exited = new TaskCompletionSource<WaitStatus>(TaskCreationOptions.RunContinuationsAsynchronously);
        _watched[pid] = exited;
        return exited.Task;
    }

    private void Run()
    {
        while (true)
        {
            (int pid, WaitStatus status) = ProcessControl.Wait(-1, block: true);
            if (pid <= 0)
            {
                // No children at all: sleep until the next spawn rather than spin on ECHILD.
                lock (_childAdded)
                {
                    while (!_childAddedPending)
                    {
                        System.Threading.Monitor.Wait(_childAdded);
                    }

                    _childAddedPending = false;
                }

                continue;
            }

            TaskCompletionSource<WaitStatus>? watcher;
            lock (_gate)
            {
                if (!_watched.Remove(pid, out watcher))
                {
                    _unclaimed[pid] = status;
                    _strayOrder.Enqueue(pid);
                    while (_initAdopted && _strayOrder.Count > MaxStrays)
                    {
                        _ = _unclaimed.Remove(_strayOrder.Dequeue());
                    }
                }
            }

            watcher?.TrySetResult(status);
        }
    }
}
