namespace Berth.IntegrationTests.Infrastructure;

/// <summary>Files a container writes, seen from the host (through a bind mount or the container's rootfs).</summary>
public static class HostFile
{
    /// <summary>Polls until <paramref name="path"/> exists, failing the test after <paramref name="timeout"/>.</summary>
    public static async Task WaitForAsync(string path, TimeSpan timeout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!File.Exists(path))
        {
            Assert.True(clock.Elapsed < timeout, $"{path} did not appear within {timeout.TotalSeconds:F0} s");
            await Task.Delay(20);
        }
    }
}
