using Berth.Images;

namespace Berth.Engine.Containers;

/// <summary>What the builder needs of a container beyond the API's use cases: its changes as a layer.</summary>
public sealed partial class ContainerService
{
    /// <summary>The container's changes (its overlay upper directory, whiteouts included, mount points left out) as a plain-tar layer blob.</summary>
    public Task<LayerWriter.WrittenLayer> WriteChangesAsync(string id, BlobLease lease, CancellationToken cancellationToken)
    {
        string upper = _images.Snapshots.UpperDirectory(Lookup(id).Record.Id);
        return LayerWriter.WriteAsync(_images, lease, (output, ct) => DirectoryTar.WriteAsync(upper, output, TarSource.OverlayUpper, ct, path => IsMountpoint(upper, path)), compress: false, cancellationToken);
    }
}
