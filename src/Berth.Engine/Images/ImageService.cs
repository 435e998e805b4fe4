using Berth.Api.Types;
using Berth.Engine.Containers;
using Berth.Images;
using Berth.Primitives;

namespace Berth.Engine.Images;

/// <summary>The image use cases the API exposes.</summary>
public interface IImageBackend
{
    IReadOnlyList<ImageSummary> List(bool all);

    ImageInspect Inspect(string nameOrId);

    Task<IReadOnlyList<ImageDeleteResponseItem>> RemoveAsync(string nameOrId, bool force, CancellationToken cancellationToken);

    /// <summary>Creates a base image offline (busybox from the host's busybox-static).</summary>
    Task<string> BootstrapAsync(string name, IProgress<string> progress, CancellationToken cancellationToken);
}

public sealed class ImageService(ImageStore images, ContainerService containers) : IImageBackend
{
    public IReadOnlyList<ImageSummary> List(bool all) =>
        [.. images.Snapshot.Values
            .OrderByDescending(v => v.Record.Config.Created)
            .Select(v => new ImageSummary
            {
                Id = v.Record.Id,
                RepoTags = [.. v.Tags.Where(t => t.Tag is not null).Select(t => t.FamiliarString)],
                RepoDigests = v.Record.RepoDigests,
                Created = v.Record.Config.Created?.ToUnixTimeSeconds() ?? 0,
                Size = v.Record.Size,
                VirtualSize = v.Record.Size,
                Labels = v.Record.Config.Config.Labels ?? [],
                Containers = containers.UsingImage(v.Record.Id).Count(),
            })];

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

        result.AddRange(view.Tags.Select(t => new ImageDeleteResponseItem { Untagged = t.FamiliarString }));
        if (user is null)
        {
            // Layers stay for other images and are collected by prune (images issue); the image itself goes.
            await images.DeleteAsync(view.Record, cancellationToken).ConfigureAwait(false);
            result.Add(new ImageDeleteResponseItem { Deleted = view.Record.Id });
        }
        else
        {
            foreach (ImageReference tag in view.Tags)
            {
                await images.UntagAsync(tag, cancellationToken).ConfigureAwait(false);
            }
        }

        return result;
    }

    public async Task<string> BootstrapAsync(string name, IProgress<string> progress, CancellationToken cancellationToken)
    {
        ImageReference reference = ImageReference.Parse(name);
        string base_ = reference.FamiliarName;
        if (base_ != "busybox")
        {
            throw EngineException.Invalid($"cannot bootstrap {name}: only busybox can be bootstrapped so far");
        }

        ImageRecord record = await new BusyboxBootstrap(images).RunAsync(reference, progress, cancellationToken).ConfigureAwait(false);
        return record.Id;
    }
}
