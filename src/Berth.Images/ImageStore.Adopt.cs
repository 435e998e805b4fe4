using System.Text.Json;
using Berth.Primitives;

namespace Berth.Images;

/// <summary>Layers whose unpacked form already exists as a directory: a build step's files, written once.</summary>
public sealed partial class ImageStore
{
    /// <summary>
    /// Moves <paramref name="directory"/> into place as the unpacked layer <paramref name="diffId"/> on top of
    /// <paramref name="parentChainId"/> (null for a first layer), so the commit that follows finds it and does not
    /// unpack the layer's blob into a second copy of the same files. The directory must hold exactly what the blob's tar
    /// holds (it is what the tar was made from) and sit on the data root's filesystem; when it cannot be moved, or a
    /// collection removes the unreferenced layer before the commit, the commit unpacks the blob as usual.
    /// </summary>
    public async Task AdoptLayerAsync(string? parentChainId, Digest diffId, string directory, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(directory);
        Digest chainId = parentChainId is null ? diffId : ChainId(Digest.Parse(parentChainId), diffId);
        long size = RegularFileBytes(new DirectoryInfo(directory));
        _snapshots.SyncStagedLayers(); // the step's files were written moments ago: on disk before the layer is recorded
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_metadata.GetLayer(chainId.ToString()) is not null && _snapshots.LayerExists(chainId))
            {
                return;
            }

            try
            {
                _snapshots.CommitLayer(chainId, directory);
            }
            catch (IOException)
            {
                return; // another filesystem (or a race on the directory): the commit unpacks the blob instead
            }

            var layer = new LayerRecord { ChainId = chainId.ToString(), DiffId = diffId.ToString(), Parent = parentChainId, Size = size };
            _metadata.PutLayer(chainId.ToString(), JsonSerializer.Serialize(layer, ImageJsonContext.Default.LayerRecord));
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>The unpacked size as unpacking counts it: the bytes of the regular files.</summary>
    private static long RegularFileBytes(DirectoryInfo directory) =>
        directory.EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = false })
            .Where(f => f.LinkTarget is null)
            .Sum(f => f.Length);
}
