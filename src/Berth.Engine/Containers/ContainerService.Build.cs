using Berth.Images;
using Berth.Primitives;

namespace Berth.Engine.Containers;

/// <summary>What the builder needs of a container beyond the API's use cases: its changes as a layer.</summary>
public sealed partial class ContainerService
{
    /// <summary>
    /// A stopped container's changes as a layer whose unpacked form already exists: the upper directory is made into
    /// what unpacking the layer would write (<see cref="UpperDirectoryLayer"/>), then written as a plain-tar blob.
    /// Returns the blob and the directory, which the caller may move into the layer store as the layer's snapshot
    /// (<see cref="ImageStore.AdoptLayerAsync"/>); left where it is, it goes with the container.
    /// </summary>
    /// <param name="clampTimes">When set, times newer than this are set to it first (a reproducible build's SOURCE_DATE_EPOCH).</param>
    public async Task<(LayerWriter.WrittenLayer Layer, string Directory)> WriteChangesAsLayerAsync(string id, BlobLease lease, DateTimeOffset? clampTimes, CancellationToken cancellationToken)
    {
        ContainerEntry entry = Lookup(id);
        await entry.Transition.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (entry.Record.IsRunning)
            {
                throw EngineException.Conflict($"container {entry.Record.Id} is running: its changes are not final");
            }

            // Nothing may write through an overlay mount while its upper directory is changed and moved.
            if (entry.RootfsMounted)
            {
                UnmountRootfs(entry);
            }
        }
        finally
        {
            entry.Transition.Release();
        }

        string upper = _images.Snapshots.UpperDirectory(entry.Record.Id);
        UpperDirectoryLayer.Prepare(upper, path => IsMountpoint(upper, path));
        if (clampTimes is { } limit)
        {
            LayerTimes.Clamp(upper, limit);
        }

        LayerWriter.WrittenLayer layer = await LayerWriter.WriteAsync(_images, lease, (output, ct) => DirectoryTar.WriteAsync(upper, output, TarSource.OverlayUpper, ct), compress: false, cancellationToken).ConfigureAwait(false);
        return (layer, upper);
    }
}
