using Berth.ClientCompatTests.Infrastructure;
using Berth.IntegrationTests.Infrastructure;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace Berth.ClientCompatTests.DockerDotNet;

/// <summary>Docker.DotNet.Enhanced on images: list, inspect, tag, delete, build from a tar context, save and load.</summary>
public sealed class ImageTests(DaemonFixture fixture) : DockerClientTest(fixture)
{
    [Fact]
    public async Task List_and_inspect_show_the_bootstrapped_busybox()
    {
        using CancellationTokenSource cts = DockerClients.Bound();
        IList<ImagesListResponse> images = await Client.Images.ListImagesAsync(new ImagesListParameters { All = true }, cts.Token);
        ImagesListResponse busybox = Assert.Single(images, i => i.RepoTags?.Contains("busybox:latest") == true);

        ImageInspectResponse inspect = await Client.Images.InspectImageAsync("busybox", cts.Token);

        Assert.Equal(busybox.ID, inspect.ID);
        Assert.StartsWith("sha256:", inspect.ID, StringComparison.Ordinal);
        Assert.Equal("linux", inspect.Os);
        Assert.Equal("amd64", inspect.Architecture);
        Assert.Contains("busybox:latest", inspect.RepoTags);
        Assert.NotEmpty(inspect.RootFS!.Layers!);
        Assert.True(inspect.Size > 0);
        await Assert.ThrowsAsync<DockerImageNotFoundException>(() => Client.Images.InspectImageAsync("no-such-image:nope", cts.Token));
    }

    [Fact]
    public async Task Tag_then_delete_removes_only_the_new_name()
    {
        using CancellationTokenSource cts = DockerClients.Bound();
        string repository = Names.Unique("dn-tag");
        try
        {
            await Client.Images.TagImageAsync("busybox", new ImageTagParameters { RepositoryName = repository, Tag = "v1" }, cts.Token);
            ImageInspectResponse tagged = await Client.Images.InspectImageAsync(repository + ":v1", cts.Token);
            Assert.Equal((await Client.Images.InspectImageAsync("busybox", cts.Token)).ID, tagged.ID);

            IList<IDictionary<string, string>> deleted = await Client.Images.DeleteImageAsync(repository + ":v1", new ImageDeleteParameters(), cts.Token);

            Assert.Contains(deleted, d => d.TryGetValue("Untagged", out string? name) && name == repository + ":v1");
            Assert.DoesNotContain(deleted, d => d.ContainsKey("Deleted"));
            await Assert.ThrowsAsync<DockerImageNotFoundException>(() => Client.Images.InspectImageAsync(repository + ":v1", cts.Token));
            _ = await Client.Images.InspectImageAsync("busybox", cts.Token);
        }
        finally
        {
            await Client.RemoveImageQuietlyAsync(repository + ":v1");
        }
    }

    [Fact]
    public async Task Build_from_a_tar_context_reports_progress_and_the_image_runs()
    {
        string tag = Names.Unique("dn-build") + ":latest";
        string marker = Guid.NewGuid().ToString("N");
        string? containerId = null;
        try
        {
            using CancellationTokenSource cts = DockerClients.Bound(120);
            var progress = new ProgressCollector<JSONMessage>();
            using MemoryStream context = TarContext.Create(new Dictionary<string, string>
            {
                ["Dockerfile.custom"] = $"FROM busybox\nCOPY greeting.txt /greeting.txt\nRUN echo {marker} >> /greeting.txt\nLABEL org.berth.test=build\nCMD [\"cat\", \"/greeting.txt\"]\n",
                ["greeting.txt"] = "hello from the context\n",
            });

            await Client.Images.BuildImageFromDockerfileAsync(
                new ImageBuildParameters { Tags = [tag], Dockerfile = "Dockerfile.custom", Remove = true }, context, null, null, progress, cts.Token);

            Assert.DoesNotContain(progress.Values, m => m.Error is not null);
            string streamed = string.Concat(progress.Values.Select(m => m.Stream));
            Assert.Contains("Step 1/5 : FROM busybox", streamed, StringComparison.Ordinal);
            Assert.Contains("Successfully tagged " + tag, streamed, StringComparison.Ordinal);
            ImageInspectResponse image = await Client.Images.InspectImageAsync(tag, cts.Token);
            Assert.Equal("build", image.Config!.Labels!["org.berth.test"]);
            Assert.Contains("Successfully built " + image.ID["sha256:".Length..][..12], streamed, StringComparison.Ordinal);

            containerId = (await Client.Containers.CreateContainerAsync(new CreateContainerParameters { Image = tag }, cts.Token)).ID;
            using MultiplexedStream attach = await Client.Containers.AttachContainerAsync(
                containerId, new ContainerAttachParameters { Stream = true, Stdout = true, Stderr = true }, cts.Token);
            await Client.Containers.StartContainerAsync(containerId, new ContainerStartParameters(), cts.Token);
            (string stdout, _) = await attach.ReadOutputToEndAsync(cts.Token);
            Assert.Equal($"hello from the context\n{marker}\n", stdout);
        }
        finally
        {
            if (containerId is not null)
            {
                await Client.RemoveContainerQuietlyAsync(containerId);
            }

            await Client.RemoveImageQuietlyAsync(tag);
        }
    }

    [Fact]
    public async Task Build_with_a_failing_step_reports_the_error_in_the_progress_stream()
    {
        using CancellationTokenSource cts = DockerClients.Bound(120);
        var progress = new ProgressCollector<JSONMessage>();
        using MemoryStream context = TarContext.Create(new Dictionary<string, string> { ["Dockerfile"] = "FROM busybox\nRUN exit 9\n" });

        await Client.Images.BuildImageFromDockerfileAsync(new ImageBuildParameters(), context, null, null, progress, cts.Token);

        JSONMessage failure = Assert.Single(progress.Values, m => m.Error is not null);
        Assert.Contains("returned a non-zero code: 9", failure.Error!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Save_delete_and_load_bring_the_same_image_back()
    {
        string tag = Names.Unique("dn-save") + ":v1";
        string marker = Guid.NewGuid().ToString("N");
        try
        {
            using CancellationTokenSource cts = DockerClients.Bound(120);
            using MemoryStream context = TarContext.Create(new Dictionary<string, string> { ["Dockerfile"] = $"FROM busybox\nRUN echo {marker} > /marker\n" });
            await Client.Images.BuildImageFromDockerfileAsync(new ImageBuildParameters { Tags = [tag] }, context, null, null, new ProgressCollector<JSONMessage>(), cts.Token);
            string id = (await Client.Images.InspectImageAsync(tag, cts.Token)).ID;

            var archive = new MemoryStream();
            await using (Stream saved = await Client.Images.SaveImageAsync(tag, cts.Token))
            {
                await saved.CopyToAsync(archive, cts.Token);
            }

            Assert.True(archive.Length > 1024, $"the saved archive has {archive.Length} bytes");
            _ = await Client.Images.DeleteImageAsync(tag, new ImageDeleteParameters { Force = true }, cts.Token);
            await Assert.ThrowsAsync<DockerImageNotFoundException>(() => Client.Images.InspectImageAsync(tag, cts.Token));

            archive.Position = 0;
            var progress = new ProgressCollector<JSONMessage>();
            await Client.Images.LoadImageAsync(new ImageLoadParameters { Quiet = false }, archive, progress, cts.Token);

            Assert.Contains(progress.Values, m => m.Stream?.Contains("Loaded image: " + tag, StringComparison.Ordinal) == true);
            Assert.Equal(id, (await Client.Images.InspectImageAsync(tag, cts.Token)).ID);
        }
        finally
        {
            await Client.RemoveImageQuietlyAsync(tag);
        }
    }
}
