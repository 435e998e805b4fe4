using System.Globalization;
using Berth.Api.Types;
using Berth.Primitives;

namespace Berth.Engine.Containers;

/// <summary>Removing stopped containers in bulk, and what a container's writable layer takes on disk.</summary>
public sealed partial class ContainerService
{
    public async Task<ContainerPruneResponse> PruneAsync(IReadOnlyDictionary<string, IReadOnlyList<string>> filters, CancellationToken cancellationToken)
    {
        foreach (string key in filters.Keys)
        {
            if (key is not ("until" or "label" or "label!"))
            {
                throw EngineException.Invalid($"invalid filter '{key}'");
            }
        }

        DateTimeOffset now = DateTimeOffset.UtcNow;
        var deleted = new List<string>();
        long reclaimed = 0;
        foreach (ContainerRecord record in Records.Where(r => r.State.Status is ContainerStatus.Exited or ContainerStatus.Created or ContainerStatus.Dead).ToList())
        {
            if ((filters.TryGetValue("until", out IReadOnlyList<string>? until) && until.Any(u => record.Created >= Images.ImageFilters.ParseTimestamp(u, now)))
                || (filters.TryGetValue("label", out IReadOnlyList<string>? labels) && !labels.All(l => Images.ImageFilters.LabelMatches(record.Config.Labels, l)))
                || (filters.TryGetValue("label!", out IReadOnlyList<string>? notLabels) && notLabels.Any(l => Images.ImageFilters.LabelMatches(record.Config.Labels, l))))
            {
                continue;
            }

            long size = WritableLayerSize(record.Id);
            try
            {
                await RemoveAsync(record.Id, force: false, removeVolumes: false, cancellationToken).ConfigureAwait(false);
            }
            catch (EngineException e) when (e.Kind is ErrorKind.NotFound or ErrorKind.Conflict)
            {
                continue; // removed or started meanwhile
            }

            deleted.Add(record.Id);
            reclaimed += size;
        }

        _events.Publish("container", "prune", "", new Dictionary<string, string> { ["reclaimed"] = reclaimed.ToString(CultureInfo.InvariantCulture) });
        return new ContainerPruneResponse { ContainersDeleted = deleted, SpaceReclaimed = reclaimed };
    }

    /// <summary>The bytes in the container's writable layer (what removing it frees; Docker's SizeRw).</summary>
    internal long WritableLayerSize(string id) => DirectorySize(_images.Snapshots.UpperDirectory(id));

    internal static long DirectorySize(string path)
    {
        if (!Directory.Exists(path))
        {
            return 0;
        }

        long total = 0;
        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = true };
        foreach (FileInfo file in new DirectoryInfo(path).EnumerateFiles("*", options))
        {
            if (!file.Attributes.HasFlag(FileAttributes.ReparsePoint))
            {
                total += file.Length;
            }
        }

        return total;
    }
}
