using System.Buffers;
using System.Formats.Tar;
using System.Security.Cryptography;
using Berth.Images;
using Berth.Interop;
using Microsoft.Win32.SafeHandles;

namespace Berth.Engine.Build;

/// <summary>
/// The big files of recent build contexts, kept as hard links under the data root, so that a rebuild sending the same
/// bytes again neither writes nor hashes them. The docker CLI's classic build sends the whole context every time; a
/// file arriving under a path that a recent context also had, with the same size, is compared with the kept copy as
/// it streams in (reading the page cache and comparing costs a fraction of writing new pages and computing SHA-256).
/// When every byte matches, the kept file's hash is the new file's hash, and if its mode and time match too the kept
/// inode itself is linked into the build's context; the first differing byte turns the rest into an ordinary write.
/// <para>
/// Kept files are never written after they are linked in: the context is read-only to a build (COPY copies from it,
/// bind mounts of it are read-only or copies), and unpacking sets a linked file's owner, mode and time to the values
/// it already has. The set is bounded by <see cref="ContextFileCache(string, long)"/>'s budget (least recently used
/// out first), emptied by <c>builder prune</c>, and starts empty with each daemon (the index lives in memory).
/// </para>
/// </summary>
internal sealed class ContextFileCache
{
    /// <summary>Smaller files are written and hashed as they arrive: their cost is in the per-file work, not the bytes.</summary>
    internal const long MinimumFileSize = 1 << 20;

    private const int ChunkSize = 1 << 18;

    private readonly string _root;
    private readonly long _budget;
    private readonly Lock _lock = new();

    /// <summary>Kept files by file name (hash, mode and time).</summary>
    private readonly Dictionary<string, Kept> _kept = new(StringComparer.Ordinal);

    /// <summary>The kept file each context path last held.</summary>
    private readonly Dictionary<string, string> _byContextPath = new(StringComparer.Ordinal);
    private long _bytes;
    private long _clock;

    /// <param name="root">A directory on the same filesystem as the builds' contexts; whatever it holds is removed.</param>
    /// <param name="budget">The most bytes kept.</param>
    public ContextFileCache(string root, long budget)
    {
        _root = root;
        _budget = budget;
        if (Directory.Exists(root))
        {
            Directory.Delete(root, recursive: true); // an earlier daemon's: its index died with it
        }

        Directory.CreateDirectory(root);
    }

    /// <summary>A kept file: its content hash, and the mode and time it carries (a linked inode must already have the entry's).</summary>
    private sealed record Kept(string FileName, long Size, byte[] Hash, int Mode, long ModifiedTicks)
    {
        public long LastUsed { get; set; }
    }

    /// <summary>The bytes kept now.</summary>
    public long Bytes
    {
        get
        {
            lock (_lock)
            {
                return _bytes;
            }
        }
    }

    /// <summary>The writer for one context's unpack; <see cref="Receiver.Keep"/> afterwards keeps what it wrote.</summary>
    public Receiver Receive() => new(this);

    /// <summary>Removes every kept file (<c>builder prune</c>); returns the bytes freed.</summary>
    public long Clear()
    {
        lock (_lock)
        {
            foreach (Kept kept in _kept.Values)
            {
                File.Delete(Path.Combine(_root, kept.FileName));
            }

            long freed = _bytes;
            _kept.Clear();
            _byContextPath.Clear();
            _bytes = 0;
            return freed;
        }
    }

    private Kept? Candidate(string name, long size)
    {
        lock (_lock)
        {
            return _byContextPath.TryGetValue(name, out string? fileName) && _kept.TryGetValue(fileName, out Kept? kept) && kept.Size == size ? kept : null;
        }
    }

    private static string FileName(byte[] hash, int mode, long modifiedTicks) =>
        $"{Convert.ToHexStringLower(hash)}-{mode:x}-{modifiedTicks}";

    /// <summary>Keeps the big files one unpack wrote (and refreshes those it reused), then trims to the budget.</summary>
    private void Keep(IEnumerable<(string Name, string Target, long Size, byte[] Hash, int Mode, long ModifiedTicks)> files, IReadOnlyDictionary<string, byte[]> hashes)
    {
        lock (_lock)
        {
            foreach ((string name, string target, long size, byte[] hash, int mode, long ticks) in files)
            {
                // A later entry of the same archive may have replaced the file: the unpack's own record says what is there.
                if (!hashes.TryGetValue(target, out byte[]? current) || !current.AsSpan().SequenceEqual(hash))
                {
                    continue;
                }

                string fileName = FileName(hash, mode, ticks);
                if (!_kept.TryGetValue(fileName, out Kept? kept))
                {
                    try
                    {
                        HardLink.Create(target, Path.Combine(_root, fileName));
                    }
                    catch (NativeException)
                    {
                        continue; // the file is gone, or has too many links: nothing kept, nothing lost
                    }

                    kept = new Kept(fileName, size, hash, mode, ticks);
                    _kept.Add(fileName, kept);
                    _bytes += size;
                }

                kept.LastUsed = ++_clock;
                _byContextPath[name] = fileName;
            }

            while (_bytes > _budget && _kept.Count > 0)
            {
                Kept oldest = _kept.Values.MinBy(k => k.LastUsed)!;
                File.Delete(Path.Combine(_root, oldest.FileName)); // a build that linked or opened it keeps its inode
                _kept.Remove(oldest.FileName);
                _bytes -= oldest.Size;
                foreach (string path in _byContextPath.Where(p => p.Value == oldest.FileName).Select(p => p.Key).ToList())
                {
                    _byContextPath.Remove(path);
                }
            }
        }
    }

    /// <summary>Writes one context's regular files: big ones compared with what was kept, the rest as usual.</summary>
    internal sealed class Receiver(ContextFileCache cache) : LayerApplier.IRegularFileWriter
    {
        private readonly Dictionary<string, (string Name, string Target, long Size, byte[] Hash, int Mode, long ModifiedTicks)> _big = new(StringComparer.Ordinal);

        /// <summary>How many files were found kept (byte for byte), so neither written nor hashed.</summary>
        public int Reused { get; private set; }

        public async Task<byte[]> WriteAsync(string name, string target, TarEntry entry, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(entry);
            if (entry.Length < MinimumFileSize || entry.DataStream is null || HasExtendedAttributes(entry))
            {
                return await LayerApplier.WriteHashingAsync(entry.DataStream, target, cancellationToken).ConfigureAwait(false);
            }

            int mode = (int)entry.Mode & 0xFFF;
            long ticks = entry.ModificationTime.UtcTicks;
            (byte[]? hash, bool same) = cache.Candidate(name, entry.Length) is { } candidate
                ? await CompareAsync(candidate, entry.DataStream, entry.Length, target, mode, ticks, cancellationToken).ConfigureAwait(false)
                : (null, false);
            hash ??= await LayerApplier.WriteHashingAsync(entry.DataStream, target, cancellationToken).ConfigureAwait(false);
            if (same)
            {
                Reused++;
            }

            _big[target] = (name, target, entry.Length, hash, mode, ticks);
            return hash;
        }

        /// <summary>Keeps the big files of this unpack (call once it is complete); <paramref name="hashes"/> is the unpack's record of what is where.</summary>
        public void Keep(IReadOnlyDictionary<string, byte[]> hashes) => cache.Keep(_big.Values, hashes);

        /// <summary>
        /// Streams the entry's data against the kept file. All equal: the kept inode is linked at the target when mode
        /// and time match too (else the bytes were written as they came), and the kept hash returned. The first
        /// difference: the target gets the kept prefix, then the rest of the data, hashed as a new file. A null hash
        /// when the kept file is gone before it could be opened (the caller writes the data as usual; none was read).
        /// </summary>
        private async Task<(byte[]? Hash, bool Same)> CompareAsync(Kept candidate, Stream data, long length, string target, int mode, long ticks, CancellationToken cancellationToken)
        {
            string keptPath = Path.Combine(cache._root, candidate.FileName);
            SafeFileHandle kept;
            try
            {
                kept = File.OpenHandle(keptPath, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
            }
            catch (IOException)
            {
                return (null, false); // trimmed meanwhile
            }

            bool link = candidate.Mode == mode && candidate.ModifiedTicks == ticks;
            byte[] incoming = ArrayPool<byte>.Shared.Rent(ChunkSize);
            byte[] stored = ArrayPool<byte>.Shared.Rent(ChunkSize);
            FileStream? output = null;
            try
            {
                if (!link)
                {
                    output = new FileStream(target, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1);
                }

                for (long offset = 0; offset < length;)
                {
                    int count = (int)Math.Min(ChunkSize, length - offset);
                    await data.ReadExactlyAsync(incoming.AsMemory(0, count), cancellationToken).ConfigureAwait(false);
                    int read = RandomAccess.Read(kept, stored.AsSpan(0, count), offset);
                    if (read != count || !incoming.AsSpan(0, count).SequenceEqual(stored.AsSpan(0, count)))
                    {
                        output ??= new FileStream(target, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1);
                        return (await DivergeAsync(kept, offset, !link, incoming.AsMemory(0, count), data, output, stored, cancellationToken).ConfigureAwait(false), false);
                    }

                    output?.Write(incoming, 0, count);
                    offset += count;
                }

                if (link)
                {
                    try
                    {
                        HardLink.Create(keptPath, target);
                    }
                    catch (NativeException)
                    {
                        // Trimmed since it was opened (or out of links): the open handle still reads the same bytes.
                        output = new FileStream(target, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1);
                        for (long offset = 0; offset < length;)
                        {
                            int read = RandomAccess.Read(kept, stored, offset);
                            output.Write(stored, 0, read);
                            offset += read;
                        }
                    }
                }

                return ((byte[])candidate.Hash.Clone(), true);
            }
            finally
            {
                if (output is not null)
                {
                    await output.DisposeAsync().ConfigureAwait(false);
                }

                kept.Dispose();
                ArrayPool<byte>.Shared.Return(incoming);
                ArrayPool<byte>.Shared.Return(stored);
            }
        }

        /// <summary>
        /// The data left the kept file at <paramref name="offset"/>: hashes the equal prefix from the kept file (writing it
        /// too unless <paramref name="prefixWritten"/>), then the differing chunk and the rest of the data.
        /// </summary>
        private static async Task<byte[]> DivergeAsync(SafeFileHandle kept, long offset, bool prefixWritten, ReadOnlyMemory<byte> chunk, Stream data, FileStream output, byte[] buffer, CancellationToken cancellationToken)
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            for (long position = 0; position < offset;)
            {
                int read = RandomAccess.Read(kept, buffer.AsSpan(0, (int)Math.Min(buffer.Length, offset - position)), position);
                if (read == 0)
                {
                    throw new IOException("a kept build context file was shortened");
                }

                hash.AppendData(buffer, 0, read);
                if (!prefixWritten)
                {
                    output.Write(buffer, 0, read);
                }

                position += read;
            }

            hash.AppendData(chunk.Span);
            output.Write(chunk.Span);
            int count;
            while ((count = await data.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                hash.AppendData(buffer, 0, count);
                output.Write(buffer, 0, count);
            }

            return hash.GetHashAndReset();
        }

        private static bool HasExtendedAttributes(TarEntry entry) =>
            entry is PaxTarEntry pax && pax.ExtendedAttributes.Keys.Any(k => k.StartsWith("SCHILY.xattr.", StringComparison.Ordinal));
    }
}
