using Berth.IntegrationTests.Infrastructure;
using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Images;

namespace Berth.ClientCompatTests.Infrastructure;

/// <summary>
/// The images the Testcontainers modules ask for by default (<c>redis:7.0</c>, <c>postgres:15.1</c>), built once per
/// test run from the bootstrapped Debian image (Docker Hub is out of reach) with Testcontainers' own
/// <see cref="ImageFromDockerfileBuilder"/>. Shared by every module test of the assembly; the daemon's disposal removes them.
/// </summary>
public static class ModuleImages
{
    public const string Redis = "redis:7.0";
    public const string PostgreSql = "postgres:15.1";

    /// <summary>A bootstrap from the host's cache takes seconds; two apt-get installs a minute or two on a slow mirror.</summary>
    public static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(10);

    private static readonly Lock Gate = new();
    private static Task? _debian;
    private static readonly Dictionary<string, Task> Builds = [];

    /// <summary>Builds <paramref name="image"/> (and bootstraps Debian) the first time anyone asks; later callers share the result.</summary>
    public static Task EnsureAsync(DaemonFixture fixture, string image)
    {
        lock (Gate)
        {
            _debian ??= fixture.Daemon.BootstrapAsync("debian", BuildTimeout);
            if (!Builds.TryGetValue(image, out Task? build))
            {
                build = BuildAsync(_debian, image);
                Builds[image] = build;
            }

            return build.WaitAsync(BuildTimeout);
        }
    }

    private static async Task BuildAsync(Task debian, string image)
    {
        await debian;
        string directory = Path.Combine(AppContext.BaseDirectory, "ModuleImages", image.Split(':')[0]);
        IFutureDockerImage future = new ImageFromDockerfileBuilder()
            .WithName(image)
            .WithDockerfileDirectory(directory)
            .WithDockerfile("Dockerfile")
            .WithDeleteIfExists(false)
            // The image outlives this builder: the module tests run containers from it; the test daemon's disposal removes it.
            .WithCleanUp(false)
            .Build();
        using var cts = new CancellationTokenSource(BuildTimeout);
        await future.CreateAsync(cts.Token);
    }
}
