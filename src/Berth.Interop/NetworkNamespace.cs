using System.Runtime.InteropServices;

namespace Berth.Interop;

/// <summary>
/// Network namespaces: a new one per container, pinned by a bind mount of its nsfs file so it outlives every
/// process in it, entered and left by one thread (namespaces are per thread, so nothing else in berthd moves).
/// </summary>
public static partial class NetworkNamespace
{
    private const int CLONE_NEWNET = 0x40000000;
    private const int O_RDONLY = 0;
    private const int O_CLOEXEC = 0x80000;

    /// <summary>
    /// Runs <paramref name="configure"/> on a dedicated thread inside a new network namespace pinned at
    /// <paramref name="pinPath"/>; the callback gets the namespace's fd (for IFLA_NET_NS_FD from the host's socket).
    /// The thread returns to the host's namespace before it ends.
    /// </summary>
    public static Task CreateAsync(string pinPath, Action<int> configure) => OnOwnThreadAsync(() => Create(pinPath, configure));

    private static void Create(string pinPath, Action<int> configure)
    {
        int host = NativeError.Check(SysOpen("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC), "open host netns");
        try
        {
            NativeError.Check(SysUnshare(CLONE_NEWNET), "unshare(CLONE_NEWNET)");
            try
            {
                File.WriteAllBytes(pinPath, []);
                Mount.Attach($"/proc/self/task/{SysGetTid()}/ns/net", pinPath, null, Mount.MS_BIND, null);
                int own = NativeError.Check(SysOpen(pinPath, O_RDONLY | O_CLOEXEC), "open netns");
                try
                {
                    configure(own);
                }
                finally
                {
                    SysClose(own);
                }
            }
            finally
            {
                // Back to the host's namespace whatever happened: a thread left elsewhere would be a trap.
                NativeError.Check(SysSetNs(host, CLONE_NEWNET), "setns(host)");
            }
        }
        finally
        {
            SysClose(host);
        }
    }

    /// <summary>Runs <paramref name="action"/> on a dedicated thread inside the namespace pinned at <paramref name="path"/> (it gets the namespace's fd).</summary>
    public static Task RunInsideAsync(string path, Action<int> action) => OnOwnThreadAsync(() =>
    {
        int host = NativeError.Check(SysOpen("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC), "open host netns");
        try
        {
            int target = NativeError.Check(SysOpen(path, O_RDONLY | O_CLOEXEC), $"open {path}");
            try
            {
                NativeError.Check(SysSetNs(target, CLONE_NEWNET), $"setns({path})");
                try
                {
                    action(target);
                }
                finally
                {
                    NativeError.Check(SysSetNs(host, CLONE_NEWNET), "setns(host)");
                }
            }
            finally
            {
                SysClose(target);
            }
        }
        finally
        {
            SysClose(host);
        }
    });

    private static Task OnOwnThreadAsync(Action work)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                work();
                done.SetResult();
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        })
        {
            IsBackground = true,
            Name = "berth-netns",
        };
        thread.Start();
        return done.Task;
    }

    /// <summary>Unpins a namespace: once its processes are gone the kernel frees it and its links (asynchronously).</summary>
    public static void Release(string pinPath)
    {
        Mount.Detach(pinPath, lazy: true);
        File.Delete(pinPath);
    }

    [LibraryImport("libc", EntryPoint = "unshare", SetLastError = true)]
    private static partial int SysUnshare(int flags);

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static partial int SysSetNs(int fd, int nstype);

    [LibraryImport("libc", EntryPoint = "gettid")]
    private static partial int SysGetTid();

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SysOpen(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int SysClose(int fd);
}
