using Berth.Api.Types;
using Berth.Distribution;
using Berth.Images;
using Berth.Primitives;

namespace Berth.Engine.Images;

/// <summary>Pull, push and the login check (POST /images/create?fromImage=, POST /images/{name}/push, POST /auth).</summary>
public interface IRegistryBackend
{
    /// <summary>Pulls <c>fromImage[:tag]</c> (or <c>@digest</c>), reporting Docker's progress messages.</summary>
    Task PullAsync(string fromImage, string? tag, string? platform, AuthConfig? auth, IProgress<ProgressMessage> progress, CancellationToken cancellationToken);

    /// <summary>Pushes <c>name[:tag]</c>, reporting Docker's progress messages.</summary>
    Task PushAsync(string name, string? tag, AuthConfig? auth, IProgress<ProgressMessage> progress, CancellationToken cancellationToken);

    /// <summary>Checks the credentials against the registry's /v2/ (docker login).</summary>
    Task LoginAsync(AuthConfig auth, CancellationToken cancellationToken);

    /// <summary>docker search: the registry's v1 search, filtered by <c>is-official</c>, <c>is-automated</c> and <c>stars</c>.</summary>
    Task<IReadOnlyList<ImageSearchResult>> SearchAsync(string term, int? limit, IReadOnlyDictionary<string, IReadOnlyList<string>> filters, AuthConfig? auth, CancellationToken cancellationToken);
}

public sealed class RegistryService(ImageStore images, Events.EventLog events, EngineOptions engineOptions) : IRegistryBackend
{
    private readonly DistributionOptions _options = engineOptions.Distribution;

    public async Task PullAsync(string fromImage, string? tag, string? platform, AuthConfig? auth, IProgress<ProgressMessage> progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(progress);
        // Docker's CLI sends fromImage=NAME&tag=TAG (or the digest as tag).
        string text = string.IsNullOrEmpty(tag) ? fromImage : tag.Contains(':', StringComparison.Ordinal) ? $"{fromImage}@{tag}" : $"{fromImage}:{tag}";
        ImageReference reference = ImageReference.Parse(text);
        var puller = new ImagePuller(images, _options);
        // No tag at all (not even in fromImage) is `docker pull --all-tags`, as dockerd reads it.
        bool allTags = string.IsNullOrEmpty(tag) && !fromImage.Contains('@', StringComparison.Ordinal) && fromImage.LastIndexOf(':') <= fromImage.LastIndexOf('/');
        IReadOnlyList<ImageReference> wanted = allTags
            ? [.. (await puller.ListTagsAsync(reference, Credentials(auth), cancellationToken).ConfigureAwait(false)).Select(t => reference with { Tag = t })]
            : [reference];
        foreach (ImageReference one in wanted)
        {
            PullResult result = await puller.PullAsync(one, Credentials(auth), platform, new ProgressAdapter(progress), cancellationToken).ConfigureAwait(false);
            await BlobSources.RecordPulledAsync(images, one, result.Image, _options, cancellationToken).ConfigureAwait(false);
            events.Publish("image", "pull", result.Image.Id, new Dictionary<string, string>(StringComparer.Ordinal) { ["name"] = one.FamiliarString });
        }
    }

    public async Task PushAsync(string name, string? tag, AuthConfig? auth, IProgress<ProgressMessage> progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(progress);
        ImageReference reference = ImageReference.Parse(string.IsNullOrEmpty(tag) ? name : $"{name}:{tag}");
        if (reference.Digest is not null)
        {
            throw EngineException.Invalid("cannot push a digest reference");
        }

        // No tag at all is `docker push --all-tags`: every local tag of the repository, in order.
        bool allTags = string.IsNullOrEmpty(tag) && name.LastIndexOf(':') <= name.LastIndexOf('/');
        List<(ImageReference Reference, ImageView Image)> targets = allTags
            ? [.. images.Snapshot.Values.Distinct().SelectMany(v => v.Tags.Where(t => t.Name == reference.Name).Select(t => (t, v))).OrderBy(p => p.t.Tag, StringComparer.Ordinal)]
            : images.Find(reference.ToString()) is { } found ? [(reference, found)] : [];
        if (targets.Count == 0)
        {
            throw EngineException.NotFound($"An image does not exist locally with the tag: {reference.FamiliarName}");
        }

        var pusher = new ImagePusher(images, _options);
        foreach ((ImageReference target, ImageView image) in targets)
        {
            Digest digest = await pusher.PushAsync(target, image.Record, Credentials(auth), new ProgressAdapter(progress), cancellationToken).ConfigureAwait(false);
            await images.AddRepoDigestAsync(image.Record.Id, $"{target.FamiliarName}@{digest}", cancellationToken).ConfigureAwait(false);
            events.Publish("image", "push", image.Record.Id, new Dictionary<string, string>(StringComparer.Ordinal) { ["name"] = target.FamiliarString });
        }
    }

    public Task LoginAsync(AuthConfig auth, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(auth);
        return RegistryLogin.CheckAsync(auth.ServerAddress ?? ImageReference.DefaultDomain, Credentials(auth) ?? RegistryCredentials.Anonymous, _options, cancellationToken);
    }

    public async Task<IReadOnlyList<ImageSearchResult>> SearchAsync(string term, int? limit, IReadOnlyDictionary<string, IReadOnlyList<string>> filters, AuthConfig? auth, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filters);
        if (string.IsNullOrEmpty(term))
        {
            throw EngineException.Invalid("term is required");
        }

        int count = limit ?? 25;
        if (count is < 1 or > 100)
        {
            throw EngineException.Invalid($"limit {count} is outside the range of [1, 100]");
        }

        foreach (string key in filters.Keys.Where(k => k is not ("is-official" or "is-automated" or "stars")))
        {
            throw EngineException.Invalid($"invalid filter '{key}'");
        }

        bool? official = Flag(filters, "is-official");
        bool? automated = Flag(filters, "is-automated");
        int stars = 0;
        if (filters.TryGetValue("stars", out IReadOnlyList<string>? starValues))
        {
            foreach (string value in starValues)
            {
                stars = int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n)
                    ? Math.Max(stars, n)
                    : throw EngineException.Invalid($"invalid filter 'stars={value}'");
            }
        }

        IReadOnlyList<SearchHit> hits = await RegistrySearch.SearchAsync(term, count, Credentials(auth), _options, cancellationToken).ConfigureAwait(false);
        return [.. hits
            .Where(h => (official is null || h.IsOfficial == official) && (automated is null || h.IsAutomated == automated) && h.StarCount >= stars)
            .Select(h => new ImageSearchResult { Name = h.Name, Description = h.Description, StarCount = h.StarCount, IsOfficial = h.IsOfficial, IsAutomated = h.IsAutomated })];
    }

    private static bool? Flag(IReadOnlyDictionary<string, IReadOnlyList<string>> filters, string key)
    {
        if (!filters.TryGetValue(key, out IReadOnlyList<string>? values) || values.Count == 0)
        {
            return null;
        }

        return values[^1] switch
        {
            "true" or "1" => true,
            "false" or "0" => false,
            string other => throw EngineException.Invalid($"invalid filter '{key}={other}'"),
        };
    }

    private static RegistryCredentials? Credentials(AuthConfig? auth)
    {
        if (auth is null)
        {
            return null;
        }

        string? username = auth.Username;
        string? password = auth.Password;
        // "auth" is base64(user:password), as config.json stores it.
        if (string.IsNullOrEmpty(username) && !string.IsNullOrEmpty(auth.Auth))
        {
            try
            {
                string decoded = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(auth.Auth));
                int colon = decoded.IndexOf(':', StringComparison.Ordinal);
                if (colon > 0)
                {
                    username = decoded[..colon];
                    password = decoded[(colon + 1)..];
                }
            }
            catch (FormatException)
            {
                throw EngineException.Invalid("invalid auth configuration: auth is not base64");
            }
        }

        return new RegistryCredentials(username, password, auth.IdentityToken);
    }

    /// <summary>Distribution's progress as Docker's JSON messages.</summary>
    private sealed class ProgressAdapter(IProgress<ProgressMessage> target) : IProgress<TransferProgress>
    {
        public void Report(TransferProgress value) =>
            target.Report(value.Total is { } total
                ? new ProgressMessage
                {
                    Id = value.Id,
                    Status = value.Status,
                    ProgressDetail = new ProgressDetail { Current = value.Current, Total = total },
                    Progress = new ProgressDetail { Current = value.Current, Total = total }.Render(),
                }
                // As dockerd: every layer message carries a progressDetail ({} when there is no count), which is
                // what makes the docker CLI keep one line per layer and redraw it in place.
                : new ProgressMessage { Id = value.Id, Status = value.Status, Progress = value.Progress, ProgressDetail = value.Id is null || value.Status.StartsWith("Pulling from ", StringComparison.Ordinal) ? null : new ProgressDetail() });
    }
}
