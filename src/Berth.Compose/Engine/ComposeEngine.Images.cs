using System.Collections.Concurrent;
using Berth.Api.Client;
using Berth.Api.Types;
using Berth.Compose.Loading;

namespace Berth.Compose.Engine;

public sealed partial class ComposeEngine
{
    public async Task<Dictionary<string, string?>> EnsureImagesAsync(ComposeProject project, IReadOnlyList<ComposeService> services, bool build, bool noBuild, CancellationToken cancellationToken)
    {
        var ids = new ConcurrentDictionary<string, string?>(StringComparer.Ordinal);
        await Task.WhenAll(services.Select(async service =>
        {
            string image = service.ImageName(project.Name);
            string? id = await ImageIdAsync(image, cancellationToken).ConfigureAwait(false);
            string policy = service.Get("pull_policy") ?? "missing";
            if (service.Build is not null && !noBuild && (build || id is null || policy == "build"))
            {
                id = await BuildAsync(project, service, noCache: false, cancellationToken).ConfigureAwait(false);
            }
            else if (id is null || policy == "always")
            {
                if (policy == "never" && id is null)
                {
                    throw new ComposeException($"image {image} not found and pull_policy is never");
                }

                await PullAsync(image, cancellationToken).ConfigureAwait(false);
                id = await ImageIdAsync(image, cancellationToken).ConfigureAwait(false);
            }

            ids[service.Name] = id;
        })).ConfigureAwait(false);
        return new Dictionary<string, string?>(ids, StringComparer.Ordinal);
    }

    private async Task<string?> ImageIdAsync(string image, CancellationToken cancellationToken)
    {
        try
        {
            using System.Text.Json.JsonDocument doc = await client.InspectImageJsonAsync(image, cancellationToken).ConfigureAwait(false);
            return doc.RootElement.TryGetProperty("Id", out System.Text.Json.JsonElement id) ? id.GetString() : null;
        }
        catch (BerthApiException e) when (e.IsNotFound)
        {
            return null;
        }
    }

    public async Task PullAsync(string image, CancellationToken cancellationToken)
    {
        (string name, string? tag) = SplitReference(image);
        reporter.Report("Image", image, "Pulling");
        await DrainAsync(client.PullImageAsync(name, tag, null, null, cancellationToken), "Error response from daemon: ").ConfigureAwait(false);
        reporter.Report("Image", image, "Pulled");
    }

    public async Task PushAsync(string image, CancellationToken cancellationToken)
    {
        (string name, string? tag) = SplitReference(image);
        reporter.Report("Image", image, "Pushing");
        await DrainAsync(client.PushImageAsync(name, tag, null, cancellationToken), "").ConfigureAwait(false);
        reporter.Report("Image", image, "Pushed");
    }

    /// <summary>Reads a pull or push progress stream to its end; an error message in it fails the operation.</summary>
    private static async Task DrainAsync(IAsyncEnumerable<ProgressMessage> progress, string prefix)
    {
        await foreach (ProgressMessage message in progress.ConfigureAwait(false))
        {
            if ((message.Error ?? message.ErrorDetail?.Message) is { Length: > 0 } error)
            {
                throw new ComposeException(prefix + error);
            }
        }
    }

    /// <summary><c>registry:5000/repo:tag</c> into repository and tag (a digest stays with the repository).</summary>
    public static (string Name, string? Tag) SplitReference(string image)
    {
        if (image.Contains('@', StringComparison.Ordinal))
        {
            return (image, null);
        }

        int colon = image.LastIndexOf(':');
        return colon > image.LastIndexOf('/') && colon >= 0 ? (image[..colon], image[(colon + 1)..]) : (image, "latest");
    }

    /// <summary>Builds the service's image through POST /build; returns the new image ID.</summary>
    public async Task<string?> BuildAsync(ComposeProject project, ComposeService service, bool noCache, CancellationToken cancellationToken)
    {
        MapNode build = service.Build!;
        string context = ServicePort.Text(build["context"]) ?? project.WorkingDirectory;
        string image = service.ImageName(project.Name);
        string? inline = ServicePort.Text(build["dockerfile_inline"]);
        string? inlinePath = null;
        string dockerfile;
        if (inline is not null)
        {
            inlinePath = Path.Combine(Path.GetTempPath(), "berth-compose-" + Guid.NewGuid().ToString("N") + ".Dockerfile");
            await File.WriteAllTextAsync(inlinePath, inline, cancellationToken).ConfigureAwait(false);
            dockerfile = inlinePath;
        }
        else
        {
            dockerfile = Normalizer.AbsolutePath(ServicePort.Text(build["dockerfile"]) ?? "Dockerfile", context);
        }

        reporter.Report("Image", image, "Building");
        try
        {
            StreamedBuildContext archive = BuildContextArchive.Stream(context, dockerfile, cancellationToken);
            await using var archiveDisposal = archive.ConfigureAwait(false);
            string dockerfileName = archive.DockerfileName;
            var args = new Dictionary<string, string>(StringComparer.Ordinal);
            if (build["args"] is MapNode argMap)
            {
                foreach ((string key, ComposeNode value) in argMap.Entries)
                {
                    if ((ServicePort.Text(value) ?? project.Lookup(key)) is { } v)
                    {
                        args[key] = v;
                    }
                }
            }

            var labels = Labels(build["labels"] as MapNode);
            labels[ComposeLabels.Project] = project.Name;
            labels[ComposeLabels.Service] = service.Name;
            labels[ComposeLabels.Version] = ComposeLabels.ComposeVersion;
            List<string> tags = [image];
            if (build["tags"] is SeqNode extraTags)
            {
                tags.AddRange(extraTags.Items.Select(ServicePort.Text).OfType<string>());
            }

            string? id = null;
            await foreach (ProgressMessage message in client.BuildImageAsync(archive.Archive, new BuildImageOptions
            {
                Tags = tags,
                Dockerfile = dockerfileName,
                BuildArgs = args,
                Labels = labels,
                NoCache = noCache || ServicePort.Text(build["no_cache"]) is "true",
                Target = ServicePort.Text(build["target"]),
            }, cancellationToken).ConfigureAwait(false))
            {
                if ((message.Error ?? message.ErrorDetail?.Message) is { Length: > 0 } error)
                {
                    throw new ComposeException($"failed to solve: {error}");
                }

                if (message.Aux is { } aux && aux.TryGetValue("ID", out string? auxId))
                {
                    id = auxId;
                }

                if (message.Stream is { Length: > 0 } text)
                {
                    reporter.Output(text);
                }
            }

            reporter.Report("Image", image, "Built");
            return id ?? await ImageIdAsync(image, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (inlinePath is not null)
            {
                File.Delete(inlinePath);
            }
        }
    }
}
