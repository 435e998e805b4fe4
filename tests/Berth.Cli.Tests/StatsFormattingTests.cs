using Berth.Api.Types;

namespace Berth.Cli.Tests;

public class StatsFormattingTests
{
    [Fact]
    public void Stats_table_computes_dockers_cpu_memory_and_io_columns()
    {
        var stats = new ContainerStatsResponse
        {
            Id = "4bed76d3ad42aaaabbbbccccddddeeeeffff00001111222233334444555566667777",
            Name = "/web",
            CpuStats = new CpuStats { CpuUsage = new CpuUsage { TotalUsage = 300_000_000 }, SystemCpuUsage = 4_000_000_000, OnlineCpus = 2 },
            PrecpuStats = new CpuStats { CpuUsage = new CpuUsage { TotalUsage = 100_000_000 }, SystemCpuUsage = 2_000_000_000, OnlineCpus = 2 },
            MemoryStats = new MemoryStats { Usage = 3 * 1024 * 1024, Limit = 64 * 1024 * 1024, Stats = new() { ["total_inactive_file"] = 1024 * 1024 } },
            PidsStats = new PidsStats { Current = 3 },
            Networks = new() { ["eth0"] = new NetworkStats { RxBytes = 1234, TxBytes = 0 } },
            BlkioStats = new BlkioStats { IoServiceBytesRecursive = [new BlkioStatEntry { Op = "Read", Value = 4096 }, new BlkioStatEntry { Op = "Write", Value = 1_500_000 }] },
        };

        string table = ListFormat.Render(ListFormat.Resolve(null, StatsRow.DefaultTable), [new StatsRow("web", stats, truncate: true)], StatsRow.Header);
        Assert.Equal(
            "CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O       BLOCK I/O       PIDS\n" +
            "4bed76d3ad42   web       20.00%    2MiB / 64MiB        3.12%     1.23kB / 0B   4.1kB / 1.5MB   3\n",
            table);
    }
}
