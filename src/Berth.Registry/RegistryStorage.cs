using System.Text;
using System.Text.RegularExpressions;
using Berth.Interop;
using Berth.Primitives;
using Berth.Storage.Content;

namespace Berth.Registry;

/// <summary>A manifest as stored: its exact bytes, their media type and digest.</summary>
public sealed record StoredManifest(byte[] Content, string MediaType, Digest Digest);

/// <summary>
/// The registry's disk layout under its root: <c>content/</c> holds every blob and manifest by digest (a
/// <see cref="ContentStore"/>: hashed while written, verified, renamed into place, so a killed server never serves
/// a partial blob); <c>uploads/ID</c> are upload sessions; <c>repositories/NAME/revisions/HEX</c> (the media type)
/// and <c>repositories/NAME/tags/TAG</c> (a digest) say which manifests a repository has.
/// </summary>
public sealed partial class RegistryStorage
{
    private readonly ContentStore _content;
    private readonly string _uploads;
    private readonly string _repositories;

    public RegistryStorage(string root)
    {
        _content = new ContentStore(Path.Combine(root, "content"));
        _uploads = Path.Combine(root, "uploads");
        _repositories = Path.Combine(root, "repositories");
        Directory.CreateDirectory(_uploads);
        Directory.CreateDirectory(_repositories);
    }

    public static bool IsValidRepository(string name) => name.Length <= 255 && RepositoryPattern().IsMatch(name);

    public static bool IsValidTag(string tag) => TagPattern().IsMatch(tag);

    public bool BlobExists(Digest digest) => digest.Algorithm == "sha256" && _content.Exists(digest);

    public long BlobSize(Digest digest) => new FileInfo(_content.PathOf(digest)).Length;

    public Stream OpenBlob(Digest digest) => _content.OpenRead(digest);

    // ---- uploads ----

    public string StartUpload()
    {
        string id = Guid.NewGuid().ToString("N");
        File.WriteAllBytes(Path.Combine(_uploads, id), []);
        return id;
    }

    /// <summary>The upload's file, or null for an unknown (or malformed) id.</summary>
    private string? UploadPath(string id)
    {
        if (!UploadIdPattern().IsMatch(id))
        {
            return null;
        }

        string path = Path.Combine(_uploads, id);
        return File.Exists(path) ? path : null;
    }

    public bool UploadExists(string id) => UploadPath(id) is not null;

    public long UploadSize(string id) => UploadPath(id) is { } path ? new FileInfo(path).Length : -1;

    /// <summary>Appends a chunk; returns the upload's new size.</summary>
    public async Task<long> AppendAsync(string id, Stream chunk, CancellationToken cancellationToken)
    {
        string path = UploadPath(id) ?? throw new FileNotFoundException(id);
        await using var target = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
        await chunk.CopyToAsync(target, cancellationToken).ConfigureAwait(false);
        return target.Length;
    }

    /// <summary>
    /// Commits an upload as a blob: the content must hash to <paramref name="expected"/> (else
    /// <see cref="EngineException"/> Invalid and nothing is committed). The session is gone afterwards either way.
    /// </summary>
    public async Task<BlobDescriptor> CompleteAsync(string id, Digest expected, CancellationToken cancellationToken)
    {
        string path = UploadPath(id) ?? throw new FileNotFoundException(id);
        try
        {
            await using var source = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
            return await _content.WriteAsync(source, expected, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            File.Delete(path);
        }
    }

    public void CancelUpload(string id)
    {
        if (UploadPath(id) is { } path)
        {
            File.Delete(path);
        }
    }

    // ---- manifests ----

    public async Task<Digest> PutManifestAsync(string repository, string reference, byte[] content, string mediaType, CancellationToken cancellationToken)
    {
        BlobDescriptor blob = await _content.WriteAsync(content, cancellationToken).ConfigureAwait(false);
        if (Digest.TryParse(reference, out Digest wanted) && wanted != blob.Digest)
        {
            throw EngineException.Invalid($"manifest digest {blob.Digest} does not match {wanted}");
        }

        string repo = Path.Combine(_repositories, repository);
        WriteAtomically(Path.Combine(repo, "revisions"), blob.Digest.Hex, mediaType);
        if (!Digest.TryParse(reference, out _))
        {
            WriteAtomically(Path.Combine(repo, "tags"), reference, blob.Digest.ToString());
        }

        return blob.Digest;
    }

    public async Task<StoredManifest?> GetManifestAsync(string repository, string reference, CancellationToken cancellationToken)
    {
        string repo = Path.Combine(_repositories, repository);
        Digest digest;
        if (!Digest.TryParse(reference, out digest))
        {
            string tagFile = Path.Combine(repo, "tags", reference);
            if (!IsValidTag(reference) || !File.Exists(tagFile))
            {
                return null;
            }

            digest = Digest.Parse((await File.ReadAllTextAsync(tagFile, cancellationToken).ConfigureAwait(false)).Trim());
        }

        string revision = Path.Combine(repo, "revisions", digest.Hex);
        if (digest.Algorithm != "sha256" || !File.Exists(revision) || !_content.Exists(digest))
        {
            return null;
        }

        string mediaType = (await File.ReadAllTextAsync(revision, cancellationToken).ConfigureAwait(false)).Trim();
        byte[] content = await _content.ReadAllAsync(digest, cancellationToken).ConfigureAwait(false);
        return new StoredManifest(content, mediaType, digest);
    }

    /// <summary>Removes a manifest from a repository and every tag pointing at it; false when it was not there.</summary>
    public bool DeleteManifest(string repository, Digest digest)
    {
        string repo = Path.Combine(_repositories, repository);
        string revision = Path.Combine(repo, "revisions", digest.Hex);
        if (!File.Exists(revision))
        {
            return false;
        }

        string tags = Path.Combine(repo, "tags");
        if (Directory.Exists(tags))
        {
            foreach (string tag in Directory.EnumerateFiles(tags))
            {
                if (File.ReadAllText(tag).Trim() == digest.ToString())
                {
                    File.Delete(tag);
                }
            }
        }

        File.Delete(revision);
        return true;
    }

    public bool RepositoryExists(string repository) => Directory.Exists(Path.Combine(_repositories, repository, "revisions"));

    public IReadOnlyList<string> Tags(string repository)
    {
        string tags = Path.Combine(_repositories, repository, "tags");
        return Directory.Exists(tags) ? [.. Directory.EnumerateFiles(tags).Select(Path.GetFileName).Select(n => n!).Where(n => !n.StartsWith('.')).Order(StringComparer.Ordinal)] : [];
    }

    public IReadOnlyList<string> Repositories() =>
        [.. Directory.EnumerateDirectories(_repositories, "revisions", SearchOption.AllDirectories)
            .Select(d => Path.GetRelativePath(_repositories, Path.GetDirectoryName(d)!))
            .Order(StringComparer.Ordinal)];

    /// <summary>Small metadata files: temp, fsync, rename, fsync the directory, so a reader sees the old or the new value.</summary>
    private static void WriteAtomically(string directory, string name, string value)
    {
        Directory.CreateDirectory(directory);
        string temp = Path.Combine(directory, "." + name + "." + Guid.NewGuid().ToString("N"));
        using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
        {
            file.Write(Encoding.UTF8.GetBytes(value));
            file.Flush(flushToDisk: true);
        }

        File.Move(temp, Path.Combine(directory, name), overwrite: true);
        FileSync.Directory(directory);
    }

    [GeneratedRegex(@"^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*)*\z")]
    private static partial Regex RepositoryPattern();

    [GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\z")]
    private static partial Regex TagPattern();

    [GeneratedRegex(@"^[a-f0-9]{32}\z")]
    private static partial Regex UploadIdPattern();
}
