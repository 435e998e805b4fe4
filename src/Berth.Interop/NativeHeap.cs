using System.Runtime.InteropServices;

namespace Berth.Interop;

/// <summary>glibc's malloc heap, which native code in berthd (SQLite, OpenSSL, zstd, the runtime itself) allocates from.</summary>
public static partial class NativeHeap
{
    /// <summary>
    /// malloc_trim(3): gives the free pages of every malloc arena back to the kernel. glibc only shrinks the top of
    /// the main heap by itself; free pages in the middle of it and in the per-thread arenas stay resident until this.
    /// </summary>
    public static void Trim() => _ = MallocTrim(0);

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);
}
