using System.Collections.Immutable;
using Berth.Api.Types;
using Berth.Engine.Containers;
using Berth.Images;
using Berth.Primitives;

namespace Berth.Engine.Images;

/// <summary>The image use cases the API exposes.</summary>
public interface IImageBackend
{
    IReadOnlyList<ImageSummary> List(bool all, IReadOnlyDictionary<string, IReadOnlyList<string>> filters);

    /// <summary>Points <c>repo:tag</c> at the image (POST /images/{name}/tag).</summary>
    Task TagAsync(string nameOrId, string repository, string? tag, CancellationToken cancellationToken);

    /// <summary>The image's history, newest first (GET /images/{name}/history).</summary>
    IReadOnlyList<HistoryResponseItem> History(string nameOrId);

    ImageInspect Inspect(string nameOrId);

    Task<IReadOnlyList<ImageDeleteResponseItem>> RemoveAsync(string nameOrId, bool force, CancellationToken cancellationToken);

    /// <summary>
    /// Resolves the images of <c>docker save</c> at once (an unknown name is a 404 before any byte is sent) and returns
    /// the writer of their archive.
    /// </summary>
    Func<Stream, CancellationToken, Task> PrepareSave(IReadOnlyList<string> names);

    /// <summary>Loads a docker-archive or OCI layout (plain or gzip); returns Docker's "Loaded image" lines.</summary>
    Task<IReadOnlyList<string>> LoadAsync(Stream archive, CancellationToken cancellationToken);

    /// <summary>Removes dangling images (or, with <c>dangling=false</c>, every image no container uses) and unreferenced layers and blobs.</summary>
    Task<ImagePruneResponse> PruneAsync(IReadOnlyDictionary<string, IReadOnlyList<string>> filters, CancellationToken cancellationToken);

    /// <summary>A one-layer image from a root filesystem tar (plain or gzip): <c>docker import</c>. Returns the image id.</summary>
    Task<string> ImportAsync(Stream archive, string? repository, string? tag, string? message, IReadOnlyList<string> changes, CancellationToken cancellationToken);

    /// <summary>Creates a base image offline (busybox from the host's busybox-static).</summary>
    Task<string> BootstrapAsync(string name, IProgress<string> progress, CancellationToken cancellationToken);
}

public sealed class ImageService(ImageStore images, ContainerService containers, Events.EventLog events) : IImageBackend
{
    /// <summary>An image event as Docker reports it: the actor is the image id, <c>name</c> the reference concerned.</summary>
    private void Emit(string action, string imageId, string name) =>
        events.Publish("image", action, imageId, new Dictionary<string, string>(StringComparer.Ordinal) { ["name"] = name });

    public IReadOnlyList<ImageSummary> List(bool all, IReadOnlyDictionary<string, IReadOnlyList<string>> filters)
    {
        ImageFilters.Validate(filters);
        ImmutableDictionary<string, ImageView> snapshot = images.Snapshot;
        IReadOnlyList<string>? references = filters.TryGetValue("reference", out IReadOnlyList<string>? r) && r.Count > 0 ? r : null;
        return [.. snapshot.Values
            .Where(v => ImageFilters.Matches(v, filters, images.Get))
            .OrderByDescending(v => v.Record.Config.Created)
            .Select(v => new ImageSummary
            {
                Id = v.Record.Id,
                // With a reference filter Docker lists only the tags that matched.
                RepoTags = [.. v.Tags.Where(t => t.Tag is not null && (references is null || references.Any(p => ImageFilters.ReferenceMatches(t, p)))).Select(t => t.FamiliarString)],
                RepoDigests = references is null
                    ? v.Record.RepoDigests
                    : [.. v.Record.RepoDigests.Where(d => ImageReference.TryParse(d, out ImageReference? digested) && references.Any(p => ImageFilters.ReferenceMatches(digested, p)))],
                Created = v.Record.Config.Created?.ToUnixTimeSeconds() ?? 0,
                Size = v.Record.Size,
                VirtualSize = v.Record.Size,
                Labels = v.Record.Config.Config.Labels ?? [],
                Containers = containers.UsingImage(v.Record.Id).Count(),
            })];
    }

    public async Task<string> ImportAsync(Stream archive, string? repository, string? tag, string? message, IReadOnlyList<string> changes, CancellationToken cancellationToken)
    {
        ImageReference? reference = null;
        if (!string.IsNullOrEmpty(repository))
        {
            reference = ImageReference.TryParse(string.IsNullOrEmpty(tag) ? repository : repository + ":" + tag, out ImageReference? parsed) && parsed.Digest is null
                ? parsed
                : throw EngineException.Invalid($"invalid reference format: repository name ({repository}) must be lowercase");
        }

        ImageRuntimeConfig config = ConfigChanges.Apply(new ImageRuntimeConfig(), changes);
        using BlobLease lease = images.Lease();
        LayerWriter.WrittenLayer layer = await LayerWriter.ImportAsync(images, lease, archive, cancellationToken).ConfigureAwait(false);
        var history = new OciHistory { CreatedBy = "", Comment = string.IsNullOrEmpty(message) ? "Imported from -" : message };
        ImageRecord record = await ImageComposer.ComposeAsync(images, parent: null, layer, config, history, author: null, reference is null ? [] : [reference], cancellationToken).ConfigureAwait(false);
        Emit("import", record.Id, reference?.FamiliarString ?? record.Id);
        return record.Id;
    }

    public async Task TagAsync(string nameOrId, string repository, string? tag, CancellationToken cancellationToken)
    {
        ImageView view = images.Get(nameOrId);
        if (string.IsNullOrEmpty(repository))
        {
            throw EngineException.Invalid("repository name must have at least one component");
        }

        string text = string.IsNullOrEmpty(tag) ? repository : repository + ":" + tag;
        ImageReference reference = ImageReference.Parse(text);

        if (reference.Digest is not null)
        {
            throw EngineException.Invalid("refusing to create a tag with a digest reference");
        }

        if (reference.FamiliarName.Length == 64 && Ids.IsHexPrefix(reference.FamiliarName))
        {
            throw EngineException.Invalid("refusing to create an ambiguous tag using digest algorithm as name");
        }

        await images.TagAsync(reference, view.Record.Id, cancellationToken).ConfigureAwait(false);
        Emit("tag", view.Record.Id, reference.FamiliarString);
    }

    public IReadOnlyList<HistoryResponseItem> History(string nameOrId)
    {
        ImageView view = images.Get(nameOrId);
        OciImageConfig config = view.Record.Config;
        IReadOnlyList<string> chainIds = view.Record.ChainIds;
        var rows = new List<HistoryResponseItem>();
        int layer = 0;
        IReadOnlyList<OciHistory> history = config.History.Count > 0
            ? config.History
            : [.. config.RootFs.DiffIds.Select(_ => new OciHistory { Created = config.Created })];
        foreach (OciHistory entry in history)
        {
            long size = 0;
            if (entry.EmptyLayer != true)
            {
                if (layer >= chainIds.Count)
                {
                    throw new EngineException(ErrorKind.Internal, "too many non-empty layers in History section");
                }

                size = images.LayerSize(chainIds[layer]);
                layer++;
            }

            rows.Insert(0, new HistoryResponseItem
            {
                Id = "<missing>",
                Created = entry.Created?.ToUnixTimeSeconds() ?? 0,
                CreatedBy = entry.CreatedBy ?? "",
                Comment = entry.Comment ?? "",
                Size = size,
            });
        }

        if (rows.Count > 0)
        {
            rows[0] = rows[0] with { Id = view.Record.Id, Tags = [.. view.Tags.Where(t => t.Tag is not null).Select(t => t.FamiliarString)] };
        }

        return rows;
    }

    public ImageInspect Inspect(string nameOrId)
    {
        ImageView view = images.Get(nameOrId);
        ImageRecord record = view.Record;
        ImageRuntimeConfig config = record.Config.Config;
        return new ImageInspect
        {
            Id = record.Id,
            RepoTags = [.. view.Tags.Select(t => t.FamiliarString)],
            RepoDigests = record.RepoDigests,
            Created = record.Config.Created is { } c ? ContainerViews.Time(c) : "",
            Author = record.Config.Author ?? "",
            Config = new ContainerConfig
            {
                User = config.User ?? "",
                Env = config.Env,
                Cmd = config.Cmd,
                Entrypoint = config.Entrypoint,
                WorkingDir = config.WorkingDir ?? "",
                Labels = config.Labels,
                StopSignal = config.StopSignal,
                ExposedPorts = config.ExposedPorts?.ToDictionary(p => p.Key, _ => new EmptyObject()),
                Volumes = config.Volumes?.ToDictionary(p => p.Key, _ => new EmptyObject()),
                OnBuild = config.OnBuild,
                Shell = config.Shell,
            },
            Architecture = record.Config.Architecture,
            Os = record.Config.Os,
            Size = record.Size,
            VirtualSize = record.Size,
            GraphDriver = new GraphDriverData
            {
                Name = "overlay2",
                Data = new Dictionary<string, string>
                {
                    ["LowerDir"] = string.Join(':', images.LowerChain(record).Select(images.Snapshots.LayerDirectory)),
                },
            },
            RootFS = new RootFs { Layers = record.Config.RootFs.DiffIds },
            Metadata = new ImageMetadata { LastTagTime = record.LastTagTime is { } t ? ContainerViews.Time(t) : "0001-01-01T00:00:00Z" },
        };
    }

    public async Task<IReadOnlyList<ImageDeleteResponseItem>> RemoveAsync(string nameOrId, bool force, CancellationToken cancellationToken)
    {
        ImageView view = images.Get(nameOrId);
        var result = new List<ImageDeleteResponseItem>();
        // A name wins over an id prefix, as in Docker: `cafe` is the tag cafe:latest when one exists.
        bool byReference = ImageReference.TryParse(nameOrId, out ImageReference? parsed)
            && view.Tags.Any(t => t.ToString() == parsed.ToString());
        if (byReference && view.Tags.Length > 1)
        {
            ImageReference reference = ImageReference.Parse(nameOrId);
            await images.UntagAsync(reference, cancellationToken).ConfigureAwait(false);
            result.Add(new ImageDeleteResponseItem { Untagged = reference.FamiliarString });
            Emit("untag", view.Record.Id, reference.FamiliarString);
            return result;
        }

        ContainerRecord? user = containers.UsingImage(view.Record.Id).FirstOrDefault();
        if (user is not null && !force)
        {
            throw EngineException.Conflict(byReference
                ? $"conflict: unable to remove repository reference \"{nameOrId}\" (must force) - container {Ids.Short(user.Id)} is using its referenced image {Ids.Short(view.Record.Id["sha256:".Length..])}"
                : $"conflict: unable to delete {Ids.Short(view.Record.Id["sha256:".Length..])} (must be forced) - image is being used by stopped container {Ids.Short(user.Id)}");
        }

        if (!byReference && view.Tags.Length > 1 && !force)
        {
            throw EngineException.Conflict($"conflict: unable to delete {Ids.Short(view.Record.Id["sha256:".Length..])} (must be forced) - image is referenced in multiple repositories");
        }

        if (user is null && view.Tags.IsEmpty && images.IsPinned(view.Record.Id))
        {
            throw EngineException.Conflict($"conflict: unable to delete {Ids.Short(view.Record.Id["sha256:".Length..])} (cannot be forced) - image is being used by a running build");
        }

        result.AddRange(view.Tags.Select(t => new ImageDeleteResponseItem { Untagged = t.FamiliarString }));
        // As Docker: the image's layers and blobs that no other image uses go with it, at once (layers shared with
        // other images stay; blobs an import in progress holds a lease on stay). An image a running build stands on
        // stays (TryDelete is false): it only loses its tags, below, and a later prune removes it.
        if (user is null && await images.TryDeleteAsync(view.Record, cancellationToken).ConfigureAwait(false))
        {
            result.Add(new ImageDeleteResponseItem { Deleted = view.Record.Id });
            EmitRemoval(view);
            await images.CollectGarbageAsync(cancellationToken).ConfigureAwait(false);
        }
        else
        {
            foreach (ImageReference tag in view.Tags)
            {
                await images.UntagAsync(tag, cancellationToken).ConfigureAwait(false);
                Emit("untag", view.Record.Id, tag.FamiliarString);
            }
        }

        return result;
    }

    public Func<Stream, CancellationToken, Task> PrepareSave(IReadOnlyList<string> names)
    {
        if (names.Count == 0)
        {
            throw EngineException.Invalid("no images given to save");
        }

        var items = new List<SaveItem>();
        foreach (string name in names)
        {
            items.AddRange(ResolveForSave(name));
        }

        return async (output, cancellationToken) =>
        {
            await ImageArchive.SaveAsync(images, items, output, cancellationToken).ConfigureAwait(false);
            foreach (SaveItem item in items)
            {
                Emit("save", item.Image.Id, item.Tags.Count > 0 ? item.Tags[0].FamiliarString : item.Image.Id);
            }
        };
    }

    /// <summary>Docker's rules: an id saves the image untagged, <c>repo:tag</c> that tag, a bare <c>repo</c> every tag of it.</summary>
    private IEnumerable<SaveItem> ResolveForSave(string name)
    {
        bool nameOnly = !name.Contains('@', StringComparison.Ordinal) && name.LastIndexOf(':') <= name.LastIndexOf('/');
        if (nameOnly && ImageReference.TryParse(name, out ImageReference? repository) && !name.StartsWith("sha256", StringComparison.Ordinal))
        {
            SaveItem[] tagged = [.. images.Snapshot.Values
                .SelectMany(v => v.Tags.Where(t => t.Name == repository.Name && t.Tag is not null && t.Digest is null).Select(t => new SaveItem(v.Record, [t])))];
            if (tagged.Length > 0)
            {
                return tagged;
            }
        }

        ImageView view = images.Get(name);
        bool byReference = !nameOnly && ImageReference.TryParse(name, out ImageReference? parsed) && view.Tags.Any(t => t.ToString() == parsed.ToString());
        return [new SaveItem(view.Record, byReference ? [ImageReference.Parse(name)] : [])];
    }

    public async Task<IReadOnlyList<string>> LoadAsync(Stream archive, CancellationToken cancellationToken)
    {
        IReadOnlyList<string> loaded = await ImageArchive.LoadAsync(images, archive, cancellationToken).ConfigureAwait(false);
        foreach (string line in loaded)
        {
            // "Loaded image: busybox:latest" or "Loaded image ID: sha256:..."
            string name = line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
            if (name.Length > 0 && images.Find(name) is { } view)
            {
                Emit("load", view.Record.Id, name);
            }
        }

        return loaded;
    }

    private void EmitRemoval(ImageView view) => Emit("delete", view.Record.Id, view.Record.Id);

    public async Task<ImagePruneResponse> PruneAsync(IReadOnlyDictionary<string, IReadOnlyList<string>> filters, CancellationToken cancellationToken)
    {
        ImageFilters.Validate(filters, ["dangling", "label", "label!", "until"]);
        bool danglingOnly = ImageFilters.Dangling(filters) ?? true;
        DateTimeOffset? until = filters.TryGetValue("until", out IReadOnlyList<string>? u) && u.Count > 0
            ? ImageFilters.ParseTimestamp(u[0], DateTimeOffset.UtcNow)
            : null;
        var deleted = new List<ImageDeleteResponseItem>();
        foreach (ImageView view in images.Snapshot.Values.OrderBy(v => v.Record.Id, StringComparer.Ordinal))
        {
            if ((danglingOnly && !view.Tags.IsEmpty)
                || containers.UsingImage(view.Record.Id).Any()
                || (until is { } limit && (view.Record.Config.Created ?? DateTimeOffset.MinValue) >= limit)
                || (filters.TryGetValue("label", out IReadOnlyList<string>? labels) && !labels.All(l => ImageFilters.LabelMatches(view.Record.Config.Config.Labels, l)))
                || (filters.TryGetValue("label!", out IReadOnlyList<string>? notLabels) && notLabels.Any(l => ImageFilters.LabelMatches(view.Record.Config.Config.Labels, l))))
            {
                continue;
            }

            if (!await images.TryDeleteAsync(view.Record, cancellationToken).ConfigureAwait(false))
            {
                continue; // a running build stands on it
            }

            foreach (ImageReference tag in view.Tags)
            {
                Emit("untag", view.Record.Id, tag.FamiliarString);
            }

            EmitRemoval(view);
            deleted.AddRange(view.Tags.Select(t => new ImageDeleteResponseItem { Untagged = t.FamiliarString }));
            deleted.Add(new ImageDeleteResponseItem { Deleted = view.Record.Id });
        }

        long reclaimed = await images.CollectGarbageAsync(cancellationToken).ConfigureAwait(false);
        return new ImagePruneResponse { ImagesDeleted = deleted, SpaceReclaimed = reclaimed };
    }

    public async Task<string> BootstrapAsync(string name, IProgress<string> progress, CancellationToken cancellationToken)
    {
        ImageReference reference = ImageReference.Parse(name);
        string base_ = reference.FamiliarName;
        ImageRecord record = base_ switch
        {
            "busybox" => await new BusyboxBootstrap(images).RunAsync(reference, progress, cancellationToken).ConfigureAwait(false),
            "debian" => await new DebianBootstrap(images).RunAsync(reference, progress, cancellationToken).ConfigureAwait(false),
            _ => throw EngineException.Invalid($"cannot bootstrap {name}: Berth bootstraps busybox (from the host's busybox-static) and debian (with debootstrap)"),
        };
        Emit("pull", reference.FamiliarString, reference.FamiliarName);
        return record.Id;
    }
}
