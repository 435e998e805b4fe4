using Berth.IntegrationTests.Infrastructure;

namespace Berth.IntegrationTests;

/// <summary>
/// Builds while images are removed under them: a cache hit or a step's own image must outlive a concurrent
/// <c>rmi</c> and <c>image prune -af</c> (issue 8: a build once failed "content not found" after a prune removed an
/// intermediate image its cache lookup had just hit). A daemon of its own, because prune -a removes every unused image.
/// </summary>
public sealed class BuildConcurrentRemovalTests
{
    private static readonly TimeSpan BuildBound = TimeSpan.FromMinutes(3);
    private const int Builds = 8;
    private const int MaxRemovalRounds = 400;

    [Fact]
    public async Task Builds_succeed_while_rmi_and_image_prune_remove_their_images_and_the_store_stays_consistent()
    {
        await using BerthDaemon daemon = BerthDaemon.Create("buildrmi");
        await daemon.StartAsync();
        await daemon.BootstrapAsync("busybox");
        DockerCli docker = daemon.Docker;
        // The base image stays in use (prune -a would remove it between builds, and then FROM would rightly fail).
        await docker.SucceedAsync("create", "--name", "keep-base", "busybox", "true");

        string context = Directory.CreateTempSubdirectory("bt-rmi-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(context, "data.txt"), "data\n");
            await File.WriteAllTextAsync(Path.Combine(context, "Dockerfile"), """
                FROM busybox
                ENV STAGE=one
                RUN echo one > /one
                COPY data.txt /data.txt
                LABEL kind=concurrent
                ARG N
                RUN echo "$N" > /n && cat /one /data.txt /n > /all
                CMD ["cat", "/all"]
                """);
            // Warm the cache: the steps before ARG are hits in every build below, the RUN after it a miss.
            await docker.SucceedAsync("build", "-q", "--build-arg", "N=warm", "-t", "racy", context);

            for (int build = 0; build < Builds; build++)
            {
                Task<CommandResult> building = docker.RunAsync(["build", "--build-arg", "N=" + build, "-t", "racy", context], stdin: null, timeout: BuildBound);
                int rounds = 0;
                while (!building.IsCompleted && rounds++ < MaxRemovalRounds)
                {
                    // rmi may find nothing to remove (or an image the build holds): only prune's success is asserted.
                    await docker.RunAsync("rmi", "-f", "racy");
                    CommandResult prune = await docker.RunAsync("image", "prune", "-af");
                    Assert.True(prune.ExitCode == 0, prune.ToString());
                }

                CommandResult result = await building;
                Assert.True(result.ExitCode == 0, $"build {build} failed while images were removed:\n{result}\n{daemon.LogTail()}");
                // (The image itself may be gone already: the removal round under way when the build ended can take it.)
                Assert.Contains("Successfully tagged racy:latest", result.Stdout, StringComparison.Ordinal);
            }

            // Consistent: every image left can be inspected and its whole chain of layers is there to run it; once the
            // builds are over, prune removes every unused image, and a build after that starts over from the base.
            foreach (string id in (await docker.SucceedAsync("image", "ls", "-aq", "--no-trunc")).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                await docker.SucceedAsync("image", "inspect", id);
            }

            await docker.SucceedAsync("image", "prune", "-af");
            Assert.Equal(["busybox:latest"], (await docker.SucceedAsync("image", "ls", "--format", "{{.Repository}}:{{.Tag}}")).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            await docker.SucceedAsync("build", "-q", "--build-arg", "N=last", "-t", "racy", context);
            Assert.Equal("one\ndata\nlast", (await docker.SucceedAsync("run", "--rm", "racy")).Stdout.Trim());
        }
        finally
        {
            await docker.RunAsync("rm", "-f", "keep-base");
            Directory.Delete(context, recursive: true);
        }
    }
}
