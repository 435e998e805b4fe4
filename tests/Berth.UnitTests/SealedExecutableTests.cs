using System.Diagnostics;
using Berth.Interop;
using Microsoft.Win32.SafeHandles;

namespace Berth.UnitTests;

/// <summary>The sealed memfd copy the monitor runs berth-exec from (CVE-2019-5736 class): it runs, and no write reaches it.</summary>
public sealed class SealedExecutableTests
{
    private const string Program = "/bin/true";

    [Fact]
    public async Task A_sealed_copy_is_the_files_bytes_runs_and_takes_no_write()
    {
        using SafeFileHandle copy = SealedExecutable.Create(Program, "sealed-test");
        string path = $"/proc/self/fd/{copy.DangerousGetHandle()}";

        Assert.StartsWith("/memfd:sealed-test", new FileInfo(path).LinkTarget, StringComparison.Ordinal);
        Assert.Equal(await File.ReadAllBytesAsync(Program), await File.ReadAllBytesAsync(path));
        // Offset 0 of an ELF file holds 0x7f: a write that went through would change nothing, yet it must fail.
        bool wrote;
        try
        {
            using SafeFileHandle writable = File.OpenHandle(path, FileMode.Open, FileAccess.Write);
            RandomAccess.Write(writable, [0x7f], 0);
            wrote = true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            wrote = false;
        }

        Assert.False(wrote, "a write reached the sealed copy");
        using Process process = Process.Start(path)!;
        await process.WaitForExitAsync();
        Assert.Equal(0, process.ExitCode);
    }
}
