using Berth.Images;

namespace Berth.UnitTests;

/// <summary>SOURCE_DATE_EPOCH's clamp: newer times become the limit, older ones stay, symlinks keep their targets' times.</summary>
public sealed class LayerTimesTests : IDisposable
{
    private static readonly DateTimeOffset Limit = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);
    private static readonly DateTime Old = new(2001, 2, 3, 4, 5, 6, DateTimeKind.Utc);
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>The time of the path itself (a symlink's own), as stat(1) reports it.</summary>
    private static long Seconds(string path)
    {
        var start = new System.Diagnostics.ProcessStartInfo("stat") { RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("%Y");
        start.ArgumentList.Add(path);
        using var process = System.Diagnostics.Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return long.Parse(output.Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public void NewerTimesBecomeTheLimitOlderOnesStayAndTheRootIsLeftAlone()
    {
        string root = _dir.Combine("layer");
        Directory.CreateDirectory(Path.Combine(root, "dir", "deeper"));
        File.WriteAllText(Path.Combine(root, "dir", "new.txt"), "new");
        File.WriteAllText(Path.Combine(root, "old.txt"), "old");
        File.SetLastWriteTimeUtc(Path.Combine(root, "old.txt"), Old);
        File.CreateSymbolicLink(Path.Combine(root, "link"), "old.txt");
        long rootBefore = Seconds(root);

        LayerTimes.Clamp(root, Limit);

        Assert.Equal(Limit.ToUnixTimeSeconds(), Seconds(Path.Combine(root, "dir")));
        Assert.Equal(Limit.ToUnixTimeSeconds(), Seconds(Path.Combine(root, "dir", "deeper")));
        Assert.Equal(Limit.ToUnixTimeSeconds(), Seconds(Path.Combine(root, "dir", "new.txt")));
        Assert.Equal(Limit.ToUnixTimeSeconds(), Seconds(Path.Combine(root, "link")));
        Assert.Equal(new DateTimeOffset(Old).ToUnixTimeSeconds(), Seconds(Path.Combine(root, "old.txt"))); // not through the link
        Assert.Equal(rootBefore, Seconds(root));
    }
}
