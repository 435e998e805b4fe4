using System.Formats.Tar;
using Berth.Interop;
using Berth.Primitives;
using Berth.Storage.Filesystem;

namespace Berth.Images;

/// <summary>
/// Applies a layer tar to the directory of that one layer (overlayfs stacks the layers' directories). Every entry is
/// resolved inside the root (symlinks clamped to it), so no entry, link or link target can write outside. Ownership,
/// modes, times, device nodes, FIFOs and extended attributes (PAX <c>SCHILY.xattr.*</c>) are kept as in the archive.
/// Whiteouts become what overlayfs reads as one: <c>.wh.NAME</c> a 0:0 character device NAME, and
/// <c>.wh..wh..opq</c> the <c>trusted.overlay.opaque=y</c> attribute of its directory.
/// </summary>
public static class LayerApplier
{
    /// <summary>Unpacks a (plain, gzip or zstd) layer; returns its uncompressed size in bytes.</summary>
    public static Task<long> ApplyAsync(Stream layer, string root, CancellationToken cancellationToken) =>
        ApplyAsync(layer, root, Extraction.Layer, cancellationToken);

    /// <summary>Unpacks a tar into <paramref name="root"/> as <paramref name="extraction"/> says (a layer, or a copy into a container).</summary>
    public static async Task<long> ApplyAsync(Stream layer, string root, Extraction extraction, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(extraction);
        string[] prefix = [.. ScopedPath.Split(extraction.Directory)];
        Stream source = await LayerCompression.DecompressAsync(layer, cancellationToken).ConfigureAwait(false);
        await using var reader = new TarReader(source, leaveOpen: false);
        long size = 0;
        var directoryTimes = new List<(string Path, DateTimeOffset Time)>();
        while (await reader.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false) is { } entry)
        {
            string[] parts = [.. ScopedPath.Split(entry.Name)];
            if (parts.Length == 0)
            {
                continue; // "./" itself
            }

            if (parts.Contains(".."))
            {
                throw EngineException.Invalid($"invalid layer: entry {entry.Name} escapes the root");
            }

            parts = [.. prefix, .. parts];
            string name = parts[^1];
            string parent = ScopedPath.Resolve(root, string.Join('/', parts[..^1]));
            Directory.CreateDirectory(parent);
            if (extraction.Whiteouts && name.StartsWith(Whiteout.Prefix, StringComparison.Ordinal))
            {
                ApplyWhiteout(parent, name, entry.Name);
                continue;
            }

            string target = Path.Combine(parent, name);
            extraction.FileHashes?.Remove(target); // replaced by this entry: a hash is only ever of the file there now
            if (extraction.NoOverwriteDirNonDir && FileStatus.TryRead(target) is { } existing
                && (existing.Type == FileStatus.S_IFDIR) != (entry.EntryType == TarEntryType.Directory))
            {
                throw EngineException.Invalid(existing.Type == FileStatus.S_IFDIR
                    ? $"cannot overwrite directory \"{string.Join('/', parts)}\" with non-directory \"{entry.Name}\""
                    : $"cannot overwrite non-directory \"{string.Join('/', parts)}\" with directory \"{entry.Name}\"");
            }
            switch (entry.EntryType)
            {
                case TarEntryType.Directory:
                    // Like lstat: a symlink to a directory is not one (chmod would follow it out of the root).
                    if (!Directory.Exists(target) || new FileInfo(target).LinkTarget is not null)
                    {
                        RemoveExisting(target);
                        Directory.CreateDirectory(target);
                    }

                    directoryTimes.Add((target, entry.ModificationTime));
                    break;
                case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                    RemoveExisting(target);
                    if (extraction.FileWriter is { } writer)
                    {
                        byte[] written = await writer.WriteAsync(string.Join('/', parts), target, entry, cancellationToken).ConfigureAwait(false);
                        if (extraction.FileHashes is { } known)
                        {
                            known[target] = written;
                        }
                    }
                    else if (extraction.FileHashes is { } hashes)
                    {
                        hashes[target] = await WriteHashingAsync(entry.DataStream, target, cancellationToken).ConfigureAwait(false);
                    }
                    else
                    {
                        await using var output = new FileStream(target, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
                        if (entry.DataStream is { } data)
                        {
                            await data.CopyToAsync(output, cancellationToken).ConfigureAwait(false);
                        }
                    }

                    size += entry.Length;
                    break;
                case TarEntryType.SymbolicLink:
                    RemoveExisting(target);
                    File.CreateSymbolicLink(target, entry.LinkName); // the target is only ever read through ScopedPath
                    break;
                case TarEntryType.HardLink:
                    {
                        string[] linkParts = [.. ScopedPath.Split(entry.LinkName)];
                        if (linkParts.Contains(".."))
                        {
                            throw EngineException.Invalid($"invalid layer: hard link {entry.Name} points outside the root");
                        }

                        string source2 = ScopedPath.Resolve(root, string.Join('/', (string[])[.. prefix, .. linkParts]), followFinal: false);
                        RemoveExisting(target);
                        HardLink.Create(source2, target);
                        continue; // a hard link shares the inode: owner, mode and time are already right
                    }

                case TarEntryType.CharacterDevice or TarEntryType.BlockDevice or TarEntryType.Fifo:
                    {
                        RemoveExisting(target);
                        uint type = entry.EntryType switch { TarEntryType.CharacterDevice => SpecialFile.S_IFCHR, TarEntryType.BlockDevice => SpecialFile.S_IFBLK, _ => SpecialFile.S_IFIFO };
                        var posix = (PosixTarEntry)entry;
                        SpecialFile.Create(target, type, (uint)entry.Mode & 0xFFF, (uint)posix.DeviceMajor, (uint)posix.DeviceMinor);
                        break;
                    }

                default:
                    throw EngineException.Invalid($"layer entry {entry.Name}: type {entry.EntryType} is not supported");
            }

            if (entry is PaxTarEntry pax)
            {
                ApplyExtendedAttributes(target, pax);
            }

            if (extraction.KeepOwnership)
            {
                FileOwnership.ChangeLink(target, entry.Uid, entry.Gid);
            }
            else
            {
                FileOwnership.ChangeLink(target, 0, 0);
            }
            if (entry.EntryType == TarEntryType.SymbolicLink)
            {
                // A symlink has no mode of its own, but a time: its own, not its target's (which may not even exist).
                FileTimes.SetModifiedNoFollow(target, entry.ModificationTime);
            }
            else
            {
                File.SetUnixFileMode(target, (UnixFileMode)((int)entry.Mode & 0xFFF));
                if (entry.EntryType != TarEntryType.Directory)
                {
                    File.SetLastWriteTimeUtc(target, entry.ModificationTime.UtcDateTime);
                }
            }
        }

        // Directory times last: creating their children changed them.
        foreach ((string path, DateTimeOffset time) in directoryTimes)
        {
            Directory.SetLastWriteTimeUtc(path, time.UtcDateTime);
        }

        return size;
    }

    /// <summary>How a tar is unpacked.</summary>
    /// <param name="Directory">Where inside the root the entries go (their names are relative to it).</param>
    /// <param name="Whiteouts">Whether <c>.wh.</c> entries are whiteouts (layers) or plain names (copies).</param>
    /// <param name="KeepOwnership">The entries' owners; else root's, as <c>docker cp</c> without <c>-a</c>.</param>
    /// <param name="NoOverwriteDirNonDir">Refuse to replace a directory with a non-directory or the reverse.</param>
    public sealed record Extraction(string Directory, bool Whiteouts, bool KeepOwnership, bool NoOverwriteDirNonDir)
    {
        public static readonly Extraction Layer = new("/", Whiteouts: true, KeepOwnership: true, NoOverwriteDirNonDir: false);

        /// <summary>
        /// When set, each regular file's SHA-256 (keyed by the path written) is computed while its bytes stream by:
        /// the builder checksums COPY sources from these instead of reading a 50 MB context a second time.
        /// </summary>
        public Dictionary<string, byte[]>? FileHashes { get; init; }

        /// <summary>
        /// When set, writes each regular file's content in place of the plain copy (and gives its SHA-256, kept in
        /// <see cref="FileHashes"/> when that is set); owner, mode, time and attributes are applied after it as usual.
        /// </summary>
        public IRegularFileWriter? FileWriter { get; init; }
    }

    /// <summary>Writes the content of one regular file of an unpack, as something other than a plain copy.</summary>
    public interface IRegularFileWriter
    {
        /// <summary>Creates <paramref name="target"/> (nothing is there) with <paramref name="entry"/>'s data; returns its SHA-256.</summary>
        /// <param name="name">The file's path inside the root, '/'-separated, as the archive names it.</param>
        Task<byte[]> WriteAsync(string name, string target, TarEntry entry, CancellationToken cancellationToken);
    }

    /// <summary>Creates <paramref name="target"/> with <paramref name="data"/> (none for an empty file) and returns its SHA-256, in one pass.</summary>
    public static async Task<byte[]> WriteHashingAsync(Stream? data, string target, CancellationToken cancellationToken)
    {
        await using var output = new FileStream(target, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        if (data is not null)
        {
            byte[] buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 17);
            try
            {
                int read;
                while ((read = await data.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                {
                    // The (asynchronous) file write proceeds on a pool thread while this one hashes the same bytes.
                    ValueTask written = output.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                    hash.AppendData(buffer, 0, read);
                    await written.ConfigureAwait(false);
                }
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        return hash.GetHashAndReset();
    }

    /// <summary>A whiteout entry: <c>.wh..wh..opq</c> makes its directory opaque; <c>.wh.NAME</c> hides NAME below.</summary>
    private static void ApplyWhiteout(string directory, string name, string entryName)
    {
        if (name == Whiteout.Opaque)
        {
            ExtendedAttributes.Set(directory, Whiteout.OpaqueAttribute, "y"u8);
            return;
        }

        string hidden = name[Whiteout.Prefix.Length..];
        if (hidden.Length == 0 || hidden is "." or ".." || hidden.StartsWith(Whiteout.Prefix, StringComparison.Ordinal))
        {
            throw EngineException.Invalid($"invalid layer: bad whiteout {entryName}");
        }

        string target = Path.Combine(directory, hidden);
        RemoveExisting(target);
        SpecialFile.CreateWhiteout(target);
    }

    /// <summary>PAX <c>SCHILY.xattr.NAME</c> records (how Docker and BuildKit carry xattrs, e.g. file capabilities).</summary>
    private static void ApplyExtendedAttributes(string target, PaxTarEntry entry)
    {
        foreach ((string key, string value) in entry.ExtendedAttributes)
        {
            if (!key.StartsWith("SCHILY.xattr.", StringComparison.Ordinal))
            {
                continue;
            }

            string name = key["SCHILY.xattr.".Length..];
            // overlayfs's own attributes in a layer would change what the union shows: only whiteouts may do that.
            if (name.StartsWith("trusted.overlay.", StringComparison.Ordinal))
            {
                continue;
            }

            // .NET hands PAX values over as UTF-8 text: textual values (user.*, most security labels) survive exactly;
            // a binary value that is not valid UTF-8 (a file capability, security.capability) does not.
            ExtendedAttributes.Set(target, name, System.Text.Encoding.UTF8.GetBytes(value));
        }
    }

    private static void RemoveExisting(string path)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is not null || info.Exists)
        {
            info.Delete();
        }
        else if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }
    }
}
