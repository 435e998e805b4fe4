using System.Runtime.InteropServices;
using System.Text;

namespace Berth.Interop;

/// <summary>
/// posix_spawn(3) with explicit descriptor wiring. <see cref="System.Diagnostics.Process"/> cannot hand a child
/// extra descriptors, start it in a new session, or be used by a subreaper that reaps with waitpid(-1).
/// </summary>
public static unsafe partial class Spawn
{
    private const short POSIX_SPAWN_SETSIGDEF = 0x04;
    private const short POSIX_SPAWN_SETSIGMASK = 0x08;
    private const short POSIX_SPAWN_SETSID = 0x80;

    // glibc's opaque sizes are 80 (file actions), 336 (attr) and 128 (sigset); leave room.
    private const int FileActionsSize = 256;
    private const int AttrSize = 512;
    private const int SigSetSize = 128;

    /// <summary>Starts <paramref name="path"/>; each (source, target) in <paramref name="fds"/> is dup2'ed in the child.</summary>
    /// <param name="newSession">Start the child in its own session (setsid), detached from our terminal and signals.</param>
    /// <returns>The child's pid.</returns>
    public static int Start(string path, IReadOnlyList<string> argv, IReadOnlyList<string>? environment, IReadOnlyList<(int Source, int Target)> fds, bool newSession)
    {
        ArgumentNullException.ThrowIfNull(argv);
        ArgumentNullException.ThrowIfNull(fds);
        IReadOnlyList<string> env = environment ?? CurrentEnvironment();
        byte* actions = (byte*)NativeMemory.AllocZeroed(FileActionsSize);
        byte* attr = (byte*)NativeMemory.AllocZeroed(AttrSize);
        byte* sigset = (byte*)NativeMemory.AllocZeroed(SigSetSize);
        nint argvBlock = 0;
        nint envBlock = 0;
        try
        {
            Check(SysFileActionsInit(actions), "posix_spawn_file_actions_init");
            Check(SysAttrInit(attr), "posix_spawnattr_init");
            foreach ((int source, int target) in fds)
            {
                Check(SysAddDup2(actions, source, target), "posix_spawn_file_actions_adddup2");
            }

            // The runtime blocks and handles signals on its threads; the child must start clean.
            _ = SysSigEmptySet(sigset);
            Check(SysAttrSetSigMask(attr, sigset), "posix_spawnattr_setsigmask");
            _ = SysSigFillSet(sigset);
            Check(SysAttrSetSigDefault(attr, sigset), "posix_spawnattr_setsigdefault");
            short flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
            if (newSession)
            {
                flags |= POSIX_SPAWN_SETSID;
            }

            Check(SysAttrSetFlags(attr, flags), "posix_spawnattr_setflags");
            argvBlock = StringArray(argv);
            envBlock = StringArray(env);
            int pid = 0;
            byte[] pathBytes = Encoding.UTF8.GetBytes(path + "\0");
            fixed (byte* p = pathBytes)
            {
                Check(SysPosixSpawn(&pid, p, actions, attr, (byte**)argvBlock, (byte**)envBlock), $"posix_spawn {path}");
            }

            return pid;
        }
        finally
        {
            _ = SysFileActionsDestroy(actions);
            _ = SysAttrDestroy(attr);
            NativeMemory.Free(actions);
            NativeMemory.Free(attr);
            NativeMemory.Free(sigset);
            FreeStringArray(argvBlock);
            FreeStringArray(envBlock);
        }
    }

    private static List<string> CurrentEnvironment()
    {
        var list = new List<string>();
        foreach (System.Collections.DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            list.Add($"{entry.Key}={entry.Value}");
        }

        return list;
    }

    // posix_spawn returns the error number instead of setting errno.
    private static void Check(int result, string operation)
    {
        if (result != 0)
        {
            throw new NativeException(operation, result);
        }
    }

    private static nint StringArray(IReadOnlyList<string> values)
    {
        var block = (nint*)NativeMemory.AllocZeroed((nuint)(values.Count + 1), (nuint)sizeof(nint));
        for (int i = 0; i < values.Count; i++)
        {
            block[i] = Marshal.StringToCoTaskMemUTF8(values[i]);
        }

        return (nint)block;
    }

    private static void FreeStringArray(nint block)
    {
        if (block == 0)
        {
            return;
        }

        for (var p = (nint*)block; *p != 0; p++)
        {
            Marshal.FreeCoTaskMem(*p);
        }

        NativeMemory.Free((void*)block);
    }

    [LibraryImport("libc", EntryPoint = "posix_spawn")]
    private static partial int SysPosixSpawn(int* pid, byte* path, byte* fileActions, byte* attr, byte** argv, byte** envp);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_init")]
    private static partial int SysFileActionsInit(byte* actions);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_destroy")]
    private static partial int SysFileActionsDestroy(byte* actions);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_adddup2")]
    private static partial int SysAddDup2(byte* actions, int fd, int newFd);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_init")]
    private static partial int SysAttrInit(byte* attr);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_destroy")]
    private static partial int SysAttrDestroy(byte* attr);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_setflags")]
    private static partial int SysAttrSetFlags(byte* attr, short flags);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_setsigmask")]
    private static partial int SysAttrSetSigMask(byte* attr, byte* sigset);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_setsigdefault")]
    private static partial int SysAttrSetSigDefault(byte* attr, byte* sigset);

    [LibraryImport("libc", EntryPoint = "sigemptyset")]
    private static partial int SysSigEmptySet(byte* sigset);

    [LibraryImport("libc", EntryPoint = "sigfillset")]
    private static partial int SysSigFillSet(byte* sigset);
}
