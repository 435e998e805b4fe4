using Berth.Primitives;

namespace Berth.Images;

/// <summary>
/// Where a registry has a blob: recorded when a pull fetched it or a push uploaded (or found) it, so pushing the same
/// blob to another repository of that registry can ask for a cross-repository mount instead of sending its bytes.
/// </summary>
public sealed partial class ImageStore
{
    /// <summary>Records that <paramref name="registry"/> (host[:port]) holds <paramref name="digests"/> in <paramref name="repository"/>.</summary>
    public void RecordBlobSources(string registry, string repository, IEnumerable<Digest> digests)
    {
        ArgumentNullException.ThrowIfNull(digests);
        _metadata.AddBlobSources(registry, repository, digests.Select(d => d.ToString()));
    }

    /// <summary>The repositories of <paramref name="registry"/> known to hold <paramref name="digest"/>, most recently seen first.</summary>
    public IReadOnlyList<string> BlobSources(string registry, Digest digest) => _metadata.BlobSources(registry, digest.ToString());
}
