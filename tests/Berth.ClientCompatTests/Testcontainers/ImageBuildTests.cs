using Berth.ClientCompatTests.Infrastructure;
using Berth.IntegrationTests.Infrastructure;
using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Containers;
using DotNet.Testcontainers.Images;

namespace Berth.ClientCompatTests.Testcontainers;

/// <summary>Testcontainers' <see cref="ImageFromDockerfileBuilder"/>: base-image lookup by reference filter, build, run, delete.</summary>
public sealed class ImageBuildTests(DaemonFixture fixture) : TestcontainersTest(fixture)
{
    [Fact]
    public async Task An_image_built_from_a_dockerfile_directory_runs_and_DeleteAsync_removes_it()
    {
        string directory = Directory.CreateTempSubdirectory("berth-tc-build-").FullName;
        string image = Names.Unique("tc-image") + ":v1";
        string marker = Guid.NewGuid().ToString("N");
        try
        {
            await File.WriteAllTextAsync(Path.Combine(directory, "Dockerfile"), "FROM busybox:latest\nARG GREETING\nCOPY message.txt /message.txt\nRUN echo \"$GREETING\" >> /message.txt\nCMD cat /message.txt && exec sleep 300\n");
            await File.WriteAllTextAsync(Path.Combine(directory, "message.txt"), marker + "\n");
            IFutureDockerImage future = new ImageFromDockerfileBuilder()
                .WithName(image)
                .WithDockerfileDirectory(directory)
                .WithBuildArgument("GREETING", "built by testcontainers")
                .WithDeleteIfExists(true)
                .Build();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            try
            {
                await future.CreateAsync(cts.Token);

                IContainer container = new ContainerBuilder(future)
                    .WithName(Names.Unique("tc-built"))
                    .WithWaitStrategy(Wait.ForUnixContainer().UntilMessageIsLogged("built by testcontainers"))
                    .Build();
                try
                {
                    await container.StartAsync(cts.Token);
                    (string stdout, _) = await container.GetLogsAsync(timestampsEnabled: false, ct: cts.Token);
                    Assert.Equal($"{marker}\nbuilt by testcontainers\n", stdout);
                }
                finally
                {
                    await container.DisposeAsync();
                }

                // Without the reaper nothing removes an image on dispose: the explicit delete does.
                await future.DeleteAsync(cts.Token);
            }
            finally
            {
                await future.DisposeAsync();
            }

            using HttpResponseMessage gone = await Fixture.Api.GetAsync($"/images/{image}/json");
            Assert.Equal(System.Net.HttpStatusCode.NotFound, gone.StatusCode);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
            _ = await Fixture.Docker.RunAsync("rmi", "-f", image);
        }
    }
}
