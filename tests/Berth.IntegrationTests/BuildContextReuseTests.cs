using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Berth.IntegrationTests.Infrastructure;

namespace Berth.IntegrationTests;

/// <summary>
/// The builder keeps recent contexts' big files and compares a new context's bytes with them instead of writing and
/// hashing them again (issue 8): reuse must never hide a change. Through the docker CLI, which sends the whole context
/// with each build. A daemon of its own: its log counts only these builds, and its builder prune touches no other test's.
/// </summary>
public sealed class BuildContextReuseTests
{
    [Fact]
    public async Task A_changed_byte_in_a_big_file_of_the_same_size_and_time_misses_the_cache_and_reaches_the_image()
    {
        await using BerthDaemon daemon = BerthDaemon.Create("ctxreuse");
        await daemon.StartAsync();
        await daemon.BootstrapAsync("busybox");
        DockerCli docker = daemon.Docker;
        int ReusedInLog() =>
            File.ReadAllLines(daemon.LogPath).Count(l => l.Contains("(1 big files the same as a recent context's)", StringComparison.Ordinal));

        string tag = Names.Unique("ctxreuse");
        string work = Directory.CreateTempSubdirectory("bt-ctxreuse-").FullName;
        string big = Path.Combine(work, "big.bin");
        byte[] original = RandomNumberGenerator.GetBytes((4 << 20) + 7);
        byte[] changed = (byte[])original.Clone();
        changed[(2 << 20) + 3] ^= 0xff;
        DateTime time = new(2024, 5, 6, 7, 8, 9, DateTimeKind.Utc);
        void WriteBig(byte[] content)
        {
            File.WriteAllBytes(big, content);
            File.SetLastWriteTimeUtc(big, time); // the same size and time: only the bytes tell the two apart
        }

        File.WriteAllText(Path.Combine(work, "Dockerfile"), "FROM busybox\nCOPY big.bin /big.bin\nCMD [\"sha256sum\", \"/big.bin\"]\n");
        try
        {
            WriteBig(original);
            string first = await BuildAsync(docker, work, tag, expectCached: false);

            int reusedBefore = ReusedInLog();
            Assert.Equal(first, await BuildAsync(docker, work, tag, expectCached: true));
            Assert.Equal(reusedBefore + 1, ReusedInLog());
            Assert.NotEmpty(Directory.EnumerateFiles(Path.Combine(daemon.DataRoot, "builder", "context-files")));

            WriteBig(changed);
            string second = await BuildAsync(docker, work, tag, expectCached: false);
            Assert.NotEqual(first, second);
            Assert.StartsWith(Convert.ToHexStringLower(SHA256.HashData(changed)), (await docker.SucceedAsync("run", "--rm", tag)).Stdout, StringComparison.Ordinal);

            WriteBig(original);
            Assert.Equal(first, await BuildAsync(docker, work, tag, expectCached: true));
            Assert.StartsWith(Convert.ToHexStringLower(SHA256.HashData(original)), (await docker.SucceedAsync("run", "--rm", tag)).Stdout, StringComparison.Ordinal);

            await docker.SucceedAsync("builder", "prune", "-f");
            Assert.Empty(Directory.EnumerateFiles(Path.Combine(daemon.DataRoot, "builder", "context-files")));
        }
        finally
        {
            await docker.RunAsync("rmi", tag);
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>Builds; checks the COPY step was (or was not) a cache hit; returns the image's short id.</summary>
    private static async Task<string> BuildAsync(DockerCli docker, string context, string tag, bool expectCached)
    {
        CommandResult result = await docker.SucceedAsync("build", "-t", tag, context);
        string copyStep = result.Stdout[result.Stdout.IndexOf("COPY big.bin", StringComparison.Ordinal)..];
        copyStep = copyStep[..copyStep.IndexOf("Step 3/3", StringComparison.Ordinal)];
        Assert.True(expectCached == copyStep.Contains(" ---> Using cache", StringComparison.Ordinal), result.Stdout);
        return Regex.Match(result.Stdout, @"Successfully built ([0-9a-f]{12})").Groups[1].Value;
    }
}
