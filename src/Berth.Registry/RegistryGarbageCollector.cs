using System.Text.Json;
using Berth.Primitives;

namespace Berth.Registry;

/// <summary>What a garbage collection found: blobs kept and swept (with their bytes), manifests dropped as untagged.</summary>
public sealed record GarbageCollectionReport(int BlobsMarked, IReadOnlyList<Digest> BlobsSwept, long BytesSwept, IReadOnlyList<string> ManifestsDeleted);

/// <summary>
/// Mark and sweep over a registry root, as distribution's <c>registry garbage-collect</c>: every manifest a
/// repository still has is marked with its config and layers (an index or manifest list with the manifests it
/// lists and theirs); every other blob is deleted. With <c>deleteUntagged</c>, manifests no tag reaches (directly or
/// through a tagged index) are removed from their repository first. It takes the root's lock exclusively, so it
/// refuses to run while a server has the root open (the server holds the lock shared while it runs): blobs being
/// uploaded are never swept.
/// </summary>
public static class RegistryGarbageCollector
{
    public static GarbageCollectionReport Run(string root, bool dryRun, bool deleteUntagged, TextWriter log)
    {
        ArgumentNullException.ThrowIfNull(log);
        using FileStream exclusive = RegistryStorage.LockExclusive(root);
        var storage = new RegistryStorage(root);
        var marked = new HashSet<Digest>();
        var deleted = new List<string>();
        foreach (string repository in storage.Repositories())
        {
            log.WriteLine(repository);
            IReadOnlyList<Digest> revisions = storage.Revisions(repository);
            HashSet<Digest> reachable = deleteUntagged ? TaggedClosure(storage, repository) : [.. revisions];
            foreach (Digest manifest in revisions)
            {
                if (!reachable.Contains(manifest))
                {
                    log.WriteLine($"manifest eligible for deletion: {repository}@{manifest}");
                    deleted.Add($"{repository}@{manifest}");
                    if (!dryRun)
                    {
                        storage.DeleteManifest(repository, manifest);
                    }

                    continue;
                }

                Mark(storage, repository, manifest, marked, log);
            }
        }

        var swept = new List<Digest>();
        long bytes = 0;
        foreach (Digest blob in storage.AllBlobs())
        {
            if (marked.Contains(blob))
            {
                continue;
            }

            long size = storage.BlobSize(blob);
            log.WriteLine($"blob eligible for deletion: {blob}");
            swept.Add(blob);
            bytes += size;
            if (!dryRun)
            {
                storage.DeleteBlob(blob);
            }
        }

        log.WriteLine($"{marked.Count} blobs marked, {swept.Count} blobs{(dryRun ? " eligible for deletion" : " deleted")} ({bytes} bytes), {deleted.Count} manifests{(dryRun ? " eligible for deletion" : " deleted")}");
        return new GarbageCollectionReport(marked.Count, swept, bytes, deleted);
    }

    /// <summary>The manifests a tag of <paramref name="repository"/> reaches: the tagged ones and what tagged indexes list.</summary>
    private static HashSet<Digest> TaggedClosure(RegistryStorage storage, string repository)
    {
        var reachable = new HashSet<Digest>();
        var pending = new Stack<Digest>(storage.TaggedManifests(repository));
        while (pending.Count > 0)
        {
            Digest manifest = pending.Pop();
            if (!reachable.Add(manifest) || !storage.BlobExists(manifest))
            {
                continue;
            }

            foreach (Digest child in Children(storage, manifest).Where(c => c.IsManifest).Select(c => c.Digest))
            {
                pending.Push(child);
            }
        }

        return reachable;
    }

    private static void Mark(RegistryStorage storage, string repository, Digest manifest, HashSet<Digest> marked, TextWriter log)
    {
        if (!marked.Add(manifest) || !storage.BlobExists(manifest))
        {
            return;
        }

        foreach ((Digest digest, bool isManifest) in Children(storage, manifest))
        {
            if (isManifest)
            {
                Mark(storage, repository, digest, marked, log);
            }
            else if (marked.Add(digest))
            {
                log.WriteLine($"{repository}: marking blob {digest}");
            }
        }
    }

    /// <summary>What a stored manifest references: config and layers, or (an index) the manifests it lists.</summary>
    private static IEnumerable<(Digest Digest, bool IsManifest)> Children(RegistryStorage storage, Digest manifest)
    {
        byte[] content;
        using (Stream stream = storage.OpenBlob(manifest))
        using (var buffer = new MemoryStream())
        {
            stream.CopyTo(buffer);
            content = buffer.ToArray();
        }

        var children = new List<(Digest, bool)>();
        try
        {
            using var document = JsonDocument.Parse(content);
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return children;
            }

            if (root.TryGetProperty("manifests", out JsonElement manifests) && manifests.ValueKind == JsonValueKind.Array)
            {
                children.AddRange(Digests(manifests.EnumerateArray()).Select(d => (d, true)));
            }

            if (root.TryGetProperty("config", out JsonElement config))
            {
                children.AddRange(Digests([config]).Select(d => (d, false)));
            }

            if (root.TryGetProperty("layers", out JsonElement layers) && layers.ValueKind == JsonValueKind.Array)
            {
                children.AddRange(Digests(layers.EnumerateArray()).Select(d => (d, false)));
            }

            // OCI artifacts point at their subject; the subject is a manifest of the repository in its own right.
            if (root.TryGetProperty("subject", out JsonElement subject))
            {
                children.AddRange(Digests([subject]).Select(d => (d, true)));
            }
        }
        catch (JsonException)
        {
            // Not JSON: a manifest the server refused could not be here; keep the blob itself (marked by the caller).
        }

        return children;
    }

    private static IEnumerable<Digest> Digests(IEnumerable<JsonElement> descriptors) =>
        descriptors.Where(d => d.ValueKind == JsonValueKind.Object && d.TryGetProperty("digest", out _))
            .Select(d => Digest.TryParse(d.GetProperty("digest").GetString(), out Digest digest) ? digest : (Digest?)null)
            .OfType<Digest>();
}
