using Berth.Api.Types;
using Berth.Engine.Containers;
using Berth.Images;
using Berth.Primitives;
using Berth.Storage.Metadata;

namespace Berth.Engine.Host;

/// <summary>GET /system/df.</summary>
public interface IDiskUsageBackend
{
    Task<SystemDataUsage> DataUsageAsync(CancellationToken cancellationToken);
}

/// <summary>
/// What images and containers take on disk. An image's size here counts everything an image prune would free for
/// it: its unpacked layers and its blobs (config, manifest, compressed layers); LayersSize is all of that on disk.
/// So the docker CLI's "reclaimable" (LayersSize minus what used images hold alone) is what `system prune -a` frees.
/// </summary>
public sealed class DiskUsageService(ContainerService containers, ImageStore images, MetadataStore metadata, Volumes.VolumeService volumes) : IDiskUsageBackend
{
    public Task<SystemDataUsage> DataUsageAsync(CancellationToken cancellationToken)
    {
        var unitSizes = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (string chainId in metadata.ListLayers())
        {
            unitSizes["layer:" + chainId] = images.LayerSize(chainId);
        }

        foreach (Digest blob in images.Content.List())
        {
            var info = new FileInfo(images.Content.PathOf(blob));
            unitSizes["blob:" + blob] = info.Exists ? info.Length : 0;
        }

        ImageView[] views = [.. images.Snapshot.Values.OrderByDescending(v => v.Record.Config.Created)];
        var unitsOf = views.ToDictionary(
            v => v.Record.Id,
            v => new HashSet<string>(v.Record.ChainIds.Select(c => "layer:" + c).Concat(images.BlobsOf(v.Record).Select(b => "blob:" + b)), StringComparer.Ordinal));
        var users = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (HashSet<string> units in unitsOf.Values)
        {
            foreach (string unit in units)
            {
                users[unit] = users.GetValueOrDefault(unit) + 1;
            }
        }

        ContainerRecord[] records = [.. containers.Records];
        ImageSummary[] imageRows = [.. views.Select(v =>
        {
            HashSet<string> units = unitsOf[v.Record.Id];
            long size = units.Sum(u => unitSizes.GetValueOrDefault(u));
            long shared = units.Where(u => users[u] > 1).Sum(u => unitSizes.GetValueOrDefault(u));
            return new ImageSummary
            {
                Id = v.Record.Id,
                RepoTags = [.. v.Tags.Where(t => t.Tag is not null).Select(t => t.FamiliarString)],
                RepoDigests = v.Record.RepoDigests,
                Created = v.Record.Config.Created?.ToUnixTimeSeconds() ?? 0,
                Size = size,
                SharedSize = shared,
                VirtualSize = size,
                Labels = v.Record.Config.Config.Labels ?? [],
                Containers = records.Count(r => r.ImageId == v.Record.Id),
            };
        })];

        DiskUsageContainer[] containerRows = [.. records.OrderByDescending(r => r.Created).Select(r =>
        {
            ContainerSummary summary = ContainerViews.Summary(r, images);
            long rw = containers.WritableLayerSize(r.Id);
            return new DiskUsageContainer
            {
                Id = r.Id,
                Names = summary.Names,
                Image = summary.Image,
                ImageID = summary.ImageID,
                Command = summary.Command,
                Created = summary.Created,
                Labels = summary.Labels,
                State = summary.State,
                Status = summary.Status,
                SizeRw = rw,
                SizeRootFs = rw + (images.Snapshot.TryGetValue(r.ImageId, out ImageView? view) ? view.Record.Size : 0),
                Mounts = summary.Mounts,
            };
        })];

        return Task.FromResult(new SystemDataUsage
        {
            LayersSize = unitSizes.Values.Sum(),
            Images = imageRows,
            Containers = containerRows,
            Volumes = volumes.Usage(),
            BuildCache = [],
        });
    }
}
