using Xunit;

namespace Berth.Monitor.Tests;

public class OomCounterTests
{
    [Fact]
    public void A_v1_or_hybrid_host_counts_in_the_memory_controllers_oom_control()
    {
        string root = Directory.CreateTempSubdirectory("oom").FullName;
        try
        {
            Directory.CreateDirectory(Path.Join(root, "memory"));
            string[] lines = ["12:pids:/berth/abc", "5:memory:/berth/abc", "1:name=systemd:/berth/abc", "0::/berth/abc"];
            Assert.Equal(Path.Join(root, "memory/berth/abc/memory.oom_control"), OomCounter.Locate(lines, root));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void A_unified_host_counts_in_memory_events()
    {
        string root = Directory.CreateTempSubdirectory("oom").FullName;
        try
        {
            Assert.Equal(Path.Join(root, "berth/abc/memory.events"), OomCounter.Locate(["0::/berth/abc"], root));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void The_count_is_the_oom_kill_line()
    {
        Assert.Equal(2, OomCounter.Parse(["oom_kill_disable 0", "under_oom 0", "oom_kill 2"]));
        Assert.Equal(0, OomCounter.Parse(["low 0", "high 0", "max 3", "oom 3"]));
    }
}
