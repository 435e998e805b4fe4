using System.Formats.Tar;
using System.Net;
using System.Text;
using Berth.ClientCompatTests.Infrastructure;
using Berth.IntegrationTests.Infrastructure;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace Berth.ClientCompatTests.DockerDotNet;

/// <summary>The rest of Docker.DotNet.Enhanced's container operations on one running container, and the system calls.</summary>
public sealed class ContainerOperationsTests(DaemonFixture fixture) : DockerClientTest(fixture)
{
    [Fact]
    public async Task Top_stats_changes_archives_rename_pause_update_and_commit_work_on_a_running_container()
    {
        string name = Names.Unique("dn-ops");
        string id = await Client.CreateBusyboxAsync(name, tty: false, "sh", "-c", "echo changed > /etc/berth-marker; exec sleep 300");
        string committed = Names.Unique("dn-commit") + ":v1";
        try
        {
            using CancellationTokenSource cts = DockerClients.Bound(60);
            Assert.True(await Client.Containers.StartContainerAsync(id, new ContainerStartParameters(), cts.Token));
            await WaitForFileAsync(id, "/etc/berth-marker", cts.Token);

            ContainerProcessesResponse top = await Client.Containers.ListProcessesAsync(id, new ContainerListProcessesParameters(), cts.Token);
            int cmd = top.Titles.IndexOf("CMD");
            Assert.True(cmd >= 0, string.Join(",", top.Titles));
            Assert.Contains(top.Processes, p => p[cmd].Contains("sleep 300", StringComparison.Ordinal));

            var reported = new ProgressCollector<ContainerStatsResponse>();
            await Client.Containers.GetContainerStatsAsync(id, new ContainerStatsParameters { Stream = false, OneShot = true }, reported, cts.Token);
            ContainerStatsResponse stats = Assert.Single(reported.Values);
            Assert.Equal("/" + name, stats.Name);
            Assert.True(stats.MemoryStats?.Usage > 0, "memory usage");
            Assert.True(stats.PidsStats?.Current >= 1, "pids");

            IList<ContainerFileSystemChangeResponse> changes = await Client.Containers.InspectChangesAsync(id, cts.Token);
            Assert.Contains(changes, c => c.Path == "/etc/berth-marker" && c.Kind == FileSystemChangeKind.Add);

            // Copy in (a tar) and out again (a tar plus the path's stat).
            await Client.Containers.ExtractArchiveToContainerAsync(id, new CopyToContainerParameters { Path = "/tmp" }, Tar("copied.txt", "copied in\n"), cts.Token);
            ContainerArchiveResponse archive = await Client.Containers.GetArchiveFromContainerAsync(id, new ContainerPathStatParameters { Path = "/tmp/copied.txt" }, statOnly: false, cts.Token);
            Assert.Equal("copied.txt", archive.Stat.Name);
            Assert.Equal(10, archive.Stat.Size);
            var tar = new MemoryStream();
            await using (archive.Stream)
            {
                await archive.Stream!.CopyToAsync(tar, cts.Token);
                tar.Position = 0;
                using var reader = new TarReader(tar);
                TarEntry entry = (await reader.GetNextEntryAsync(copyData: true, cts.Token))!;
                Assert.Equal("copied.txt", entry.Name);
                Assert.Equal("copied in\n", await new StreamReader(entry.DataStream!).ReadToEndAsync(cts.Token));
            }

            string renamed = name + "-renamed";
            await Client.Containers.RenameContainerAsync(id, new ContainerRenameParameters { NewName = renamed }, cts.Token);
            Assert.Equal("/" + renamed, (await Client.Containers.InspectContainerAsync(renamed, cts.Token)).Name);

            await Client.Containers.PauseContainerAsync(id, cts.Token);
            Assert.True((await Client.Containers.InspectContainerAsync(id, cts.Token)).State!.Paused);
            await Client.Containers.UnpauseContainerAsync(id, cts.Token);
            Assert.False((await Client.Containers.InspectContainerAsync(id, cts.Token)).State!.Paused);

            // The client sends every resource field, zeros included: only the memory limit changes.
            // (Berth may warn that a running container gets the new limit at its next start.)
            _ = await Client.Containers.UpdateContainerAsync(id, new ContainerUpdateParameters { Memory = 96L << 20, MemorySwap = -1 }, cts.Token);
            Assert.Equal(96L << 20, (await Client.Containers.InspectContainerAsync(id, cts.Token)).HostConfig!.Memory);

            CommitContainerChangesResponse commit = await Client.Images.CommitContainerChangesAsync(
                new CommitContainerChangesParameters { ContainerID = id, RepositoryName = committed.Split(':')[0], Tag = "v1", Comment = "from Docker.DotNet" }, cts.Token);
            ImageInspectResponse image = await Client.Images.InspectImageAsync(committed, cts.Token);
            Assert.Equal(commit.ID, image.ID);
            IList<ImageHistoryResponse> history = await Client.Images.GetImageHistoryAsync(committed, cts.Token);
            Assert.Equal(image.ID, history[0].ID);
            Assert.Equal("from Docker.DotNet", history[0].Comment);

            await Client.Containers.KillContainerAsync(id, new ContainerKillParameters { Signal = "SIGKILL" }, cts.Token);
            Assert.Equal(137, (await Client.Containers.WaitContainerAsync(id, cts.Token)).StatusCode);
            await Client.Containers.RestartContainerAsync(id, new ContainerRestartParameters { WaitBeforeKillSeconds = 0 }, cts.Token);
            Assert.True((await Client.Containers.InspectContainerAsync(id, cts.Token)).State!.Running);
        }
        finally
        {
            await Client.RemoveContainerQuietlyAsync(id);
            await Client.RemoveImageQuietlyAsync(committed);
        }
    }

    [Fact]
    public async Task Ping_version_info_and_disk_usage_answer()
    {
        using CancellationTokenSource cts = DockerClients.Bound();
        await Client.System.PingAsync(cts.Token);

        VersionResponse version = await Client.System.GetVersionAsync(cts.Token);
        Assert.Equal("1.50", version.APIVersion);
        Assert.Equal("linux", version.Os);
        SystemInfoResponse info = await Client.System.GetSystemInfoAsync(cts.Token);
        Assert.Equal("linux", info.OSType);
        Assert.True(info.NCPU > 0);
        Assert.True(info.Images >= 1);
        // The client models /system/df in API 1.52's shape (ImageUsage, ...); Berth speaks 1.50 (Images, ...): it reads, but empty.
        _ = await Client.System.GetDataUsageInfoAsync(cancellationToken: cts.Token);
    }

    [Fact]
    public async Task Swarm_and_plugin_calls_get_Dockers_error_shape_not_a_hang_or_a_500()
    {
        using CancellationTokenSource cts = DockerClients.Bound();

        DockerApiException swarm = await Assert.ThrowsAnyAsync<DockerApiException>(() => Client.Swarm.InspectSwarmAsync(cts.Token));
        DockerApiException services = await Assert.ThrowsAnyAsync<DockerApiException>(() => Client.Swarm.ListServicesAsync(cancellationToken: cts.Token));

        foreach (DockerApiException e in new[] { swarm, services })
        {
            Assert.NotEqual(HttpStatusCode.InternalServerError, e.StatusCode);
            Assert.StartsWith("{\"message\":", e.ResponseBody, StringComparison.Ordinal);
        }
    }

    private static MemoryStream Tar(string name, string text) => TarContext.Create(new Dictionary<string, string> { [name] = text });

    private async Task WaitForFileAsync(string id, string path, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                _ = await Client.Containers.GetArchiveFromContainerAsync(id, new ContainerPathStatParameters { Path = path }, statOnly: true, cancellationToken);
                return;
            }
            catch (DockerApiException e) when (e.StatusCode == HttpStatusCode.NotFound)
            {
                await Task.Delay(50, cancellationToken);
            }
        }
    }
}
