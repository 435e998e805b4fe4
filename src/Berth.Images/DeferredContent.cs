namespace Berth.Images;

/// <summary>
/// The bytes of large regular files a tar unpack kept in memory instead of writing: each such file is on disk at once
/// with its size, mode, owner and time (a sparse file of the right length, so stat and directory walks see it as it
/// is), its content only when someone is about to read it (<see cref="Write"/>, <see cref="WriteAll"/>). A build
/// context is unpacked this way: its files are hashed as they arrive, and when every step is a cache hit nothing ever
/// reads them, so a fully cached rebuild writes none of the context's bytes.
/// </summary>
public sealed class DeferredContent
{
    private const int ChunkSize = 1 << 20;
    private readonly Dictionary<string, List<byte[]>> _files = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private long _budget;

    /// <param name="minimumFileSize">Smaller files are written as they arrive (the saving is in the big ones).</param>
    /// <param name="budget">The most bytes held in memory; files beyond it are written as they arrive.</param>
    public DeferredContent(long minimumFileSize, long budget)
    {
        MinimumFileSize = minimumFileSize;
        _budget = budget;
    }

    public long MinimumFileSize { get; }

    /// <summary>Whether any file still waits for its content.</summary>
    public bool Pending
    {
        get
        {
            lock (_lock)
            {
                return _files.Count > 0;
            }
        }
    }

    /// <summary>Takes <paramref name="length"/> bytes of the budget when a file that big is worth deferring.</summary>
    internal bool TryReserve(long length)
    {
        lock (_lock)
        {
            if (length < MinimumFileSize || length > _budget)
            {
                return false;
            }

            _budget -= length;
            return true;
        }
    }

    /// <summary>Reads <paramref name="length"/> bytes of <paramref name="data"/> into memory, handing each piece to <paramref name="observe"/> (the hash).</summary>
    internal static async Task<List<byte[]>> ReadAsync(Stream data, long length, Action<byte[], int> observe, CancellationToken cancellationToken)
    {
        var chunks = new List<byte[]>((int)(length / ChunkSize) + 1);
        for (long remaining = length; remaining > 0;)
        {
            byte[] chunk = GC.AllocateUninitializedArray<byte>((int)Math.Min(remaining, ChunkSize));
            int read = await data.ReadAtLeastAsync(chunk, chunk.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            if (read < chunk.Length)
            {
                throw new InvalidDataException("unexpected end of a tar entry's data");
            }

            observe(chunk, chunk.Length);
            chunks.Add(chunk);
            remaining -= chunk.Length;
        }

        return chunks;
    }

    internal void Add(string path, List<byte[]> chunks)
    {
        lock (_lock)
        {
            _files[path] = chunks;
        }
    }

    /// <summary>The file at <paramref name="path"/> is being replaced: its deferred bytes are no longer its content.</summary>
    internal void Forget(string path)
    {
        lock (_lock)
        {
            _files.Remove(path);
        }
    }

    /// <summary>Writes the content of the file at <paramref name="path"/> if it is deferred.</summary>
    public void Write(string path)
    {
        lock (_lock)
        {
            if (_files.Remove(path, out List<byte[]>? chunks))
            {
                WriteFile(path, chunks);
            }
        }
    }

    /// <summary>Writes every deferred file's content: before anything reads the tree.</summary>
    public void WriteAll()
    {
        lock (_lock)
        {
            foreach ((string path, List<byte[]> chunks) in _files)
            {
                WriteFile(path, chunks);
            }

            _files.Clear();
        }
    }

    /// <summary>Fills the placeholder in place, keeping the time and mode it was given (the write changes the time).</summary>
    private static void WriteFile(string path, List<byte[]> chunks)
    {
        DateTime modified = File.GetLastWriteTimeUtc(path);
        UnixFileMode mode = File.GetUnixFileMode(path);
        using (var file = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.None, 1))
        {
            foreach (byte[] chunk in chunks)
            {
                file.Write(chunk);
            }
        }

        File.SetUnixFileMode(path, mode);
        File.SetLastWriteTimeUtc(path, modified);
    }
}
