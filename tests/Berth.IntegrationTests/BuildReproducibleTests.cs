using Berth.IntegrationTests.Infrastructure;

namespace Berth.IntegrationTests;

/// <summary>
/// Issue 8's reproducible output: with SOURCE_DATE_EPOCH (a build arg, as BuildKit takes it) the same Dockerfile and
/// context give the same image digest twice, even with nothing cached; without it they do not.
/// </summary>
public sealed class BuildReproducibleTests(DaemonFixture fixture)
{
    private readonly DockerCli _docker = fixture.Docker;

    [Fact]
    public async Task The_same_build_with_a_source_date_epoch_gives_the_same_digest_with_clamped_times()
    {
        string work = Directory.CreateTempSubdirectory("bt-repro-").FullName;
        string old = Path.Combine(work, "old.txt"), fresh = Path.Combine(work, "fresh.txt");
        File.WriteAllText(old, "old\n");
        File.SetLastWriteTimeUtc(old, new DateTime(2001, 2, 3, 4, 5, 6, DateTimeKind.Utc)); // before the epoch: kept
        File.WriteAllText(fresh, "fresh\n"); // now, after the epoch: clamped
        File.WriteAllText(Path.Combine(work, "Dockerfile"), """
            FROM busybox
            WORKDIR /app
            COPY old.txt fresh.txt ./
            RUN echo made > made.txt && mkdir -p sub/deeper && ln -s made.txt link
            CMD ["sh"]
            """);
        const string epoch = "1700000000";
        var tags = new List<string>();
        try
        {
            async Task<string> BuildAsync(params string[] extra)
            {
                string tag = Names.Unique("repro");
                tags.Add(tag);
                await _docker.SucceedAsync(["build", "--no-cache", "-t", tag, .. extra, work]);
                return (await _docker.SucceedAsync("image", "inspect", "--format", "{{.Id}}", tag)).Stdout.Trim();
            }

            string first = await BuildAsync("--build-arg", "SOURCE_DATE_EPOCH=" + epoch);
            await Task.Delay(1100); // a second later: anything taken from the clock would differ now
            string second = await BuildAsync("--build-arg", "SOURCE_DATE_EPOCH=" + epoch);
            Assert.Equal(first, second);

            string plain1 = await BuildAsync();
            await Task.Delay(1100);
            string plain2 = await BuildAsync();
            Assert.NotEqual(plain1, plain2);
            Assert.NotEqual(first, plain1);

            string created = (await _docker.SucceedAsync("image", "inspect", "--format", "{{.Created}}", tags[0])).Stdout.Trim();
            Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(long.Parse(epoch, System.Globalization.CultureInfo.InvariantCulture)), DateTimeOffset.Parse(created, System.Globalization.CultureInfo.InvariantCulture));
            string times = (await _docker.SucceedAsync("run", "--rm", tags[0], "sh", "-c",
                "stat -c '%n %Y' /app /app/old.txt /app/fresh.txt /app/made.txt /app/sub /app/sub/deeper && stat -c '%n %Y' /app/link")).Stdout;
            Assert.Equal(
                $"/app {epoch}\n/app/old.txt 981173106\n/app/fresh.txt {epoch}\n/app/made.txt {epoch}\n/app/sub {epoch}\n/app/sub/deeper {epoch}\n/app/link {epoch}\n",
                times.Replace("\r", "", StringComparison.Ordinal));

            // berth build takes SOURCE_DATE_EPOCH from its environment, as buildx does.
            string berthTag = Names.Unique("repro");
            tags.Add(berthTag);
            CommandResult viaBerth = await ProcessRunner.RunAsync(Binaries.Cli, ["-H", "unix://" + fixture.Daemon.SocketPath, "build", "-q", "--no-cache", "-t", berthTag, work],
                new Dictionary<string, string?> { ["SOURCE_DATE_EPOCH"] = epoch });
            Assert.True(viaBerth.ExitCode == 0, viaBerth.Stderr);
            Assert.Equal(first, (await _docker.SucceedAsync("image", "inspect", "--format", "{{.Id}}", berthTag)).Stdout.Trim());

            CommandResult bad = await _docker.RunAsync("build", "--build-arg", "SOURCE_DATE_EPOCH=yesterday", work);
            Assert.NotEqual(0, bad.ExitCode);
            Assert.Contains("invalid SOURCE_DATE_EPOCH: yesterday", bad.Stdout + bad.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            foreach (string tag in tags)
            {
                await _docker.RunAsync("rmi", tag);
            }

            Directory.Delete(work, recursive: true);
        }
    }
}
