using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace Berth.Engine.Containers;

/// <summary>
/// Reads a json-file log (one <c>{"log","stream","time"}</c> object per line) as Docker's multiplexed stream. The hot
/// path works on bytes: lines are found in a read buffer, parsed with <see cref="Utf8JsonReader"/> and framed into an
/// output buffer that is written in 64 KiB pieces, so memory stays flat whatever the log's size (only <c>--tail N</c>
/// keeps N lines) and a 100 MB log is not a million small writes.
/// </summary>
internal static class JsonFileLogReader
{
    private static readonly TimeSpan FollowPoll = TimeSpan.FromMilliseconds(50);

    /// <summary>Frames are sent once this much is buffered.</summary>
    private const int FlushThreshold = 1 << 16;

    /// <param name="stopped">Completes when the followed container exits: the follower drains the file at once rather than at its next poll.</param>
    public static async Task CopyAsync(string path, LogsOptions options, Stream output, Func<bool> isRunning, CancellationToken cancellationToken, Task? stopped = null)
    {
        if (!File.Exists(path) && (!options.Follow || !isRunning()))
        {
            return;
        }

        int? tail = int.TryParse(options.Tail, out int t) && t >= 0 ? t : null;
        var frames = new FrameBuffer();
        var kept = tail is null ? null : new Queue<byte[]>();

        // From the oldest rotated file (highest number) to the live one, each next file found from the one just read
        // by its inode (see OpenSuccessorAsync): a rotation while we read shifts the names, never what we read next.
        FileStream current = OpenOldest(path);
        try
        {
            var reader = new LineReader(current);
            while (true)
            {
                await CopyLinesAsync(reader, options, frames, kept, tail, output, cancellationToken).ConfigureAwait(false);
                FileStream? next = await OpenSuccessorAsync(path, current, cancellationToken).ConfigureAwait(false);
                if (next is null)
                {
                    break; // the live file, kept open for --follow
                }

                // The monitor writes nothing more to a file once it has renamed it: what it wrote is read now.
                await CopyLinesAsync(reader, options, frames, kept, tail, output, cancellationToken).ConfigureAwait(false);
                await current.DisposeAsync().ConfigureAwait(false);
                current = next;
                reader = new LineReader(next);
            }

            foreach (byte[] line in kept ?? [])
            {
                Frame(line, options, frames);
                await frames.FlushIfFullAsync(output, cancellationToken).ConfigureAwait(false);
            }

            await frames.FlushAsync(output, cancellationToken).ConfigureAwait(false);
            await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            if (!options.Follow)
            {
                return;
            }

            // Follow: what the monitor appends, until the container stops and the file is drained. A line the monitor
            // is still writing stays in the reader's buffer until its newline arrives. When the monitor rotates, the
            // file held open is read to its end, then the one that came after it.
            while (true)
            {
                bool running = isRunning();
                await CopyLinesAsync(reader, options, frames, null, null, output, cancellationToken).ConfigureAwait(false);
                FileStream? next = await OpenSuccessorAsync(path, current, cancellationToken).ConfigureAwait(false);
                if (next is not null)
                {
                    await CopyLinesAsync(reader, options, frames, null, null, output, cancellationToken).ConfigureAwait(false);
                    await current.DisposeAsync().ConfigureAwait(false);
                    current = next;
                    reader = new LineReader(next);
                    continue;
                }

                await frames.FlushAsync(output, cancellationToken).ConfigureAwait(false);
                await output.FlushAsync(cancellationToken).ConfigureAwait(false);
                if (!running)
                {
                    return;
                }

                if (stopped is null)
                {
                    await Task.Delay(FollowPoll, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    // The exit is published before it is signalled, so the next round sees it and drains the file.
                    // Once only: a restarted container is followed by polling again, never by a signal already spent.
                    using var poll = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    Task woke = await Task.WhenAny(Task.Delay(FollowPoll, poll.Token), stopped).ConfigureAwait(false);
                    await poll.CancelAsync().ConfigureAwait(false);
                    cancellationToken.ThrowIfCancellationRequested();
                    if (woke == stopped)
                    {
                        stopped = null;
                    }
                }
            }
        }
        finally
        {
            await current.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The oldest rotated file (LOG.N), or the live file (created when missing, for a follower) when none was rotated.</summary>
    private static FileStream OpenOldest(string path)
    {
        for (int attempt = 0; ; attempt++)
        {
            string? oldest = RotatedFiles(path).FirstOrDefault();
            if (oldest is null)
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.Asynchronous);
            }

            try
            {
                return new FileStream(oldest, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.Asynchronous);
            }
            catch (FileNotFoundException) when (attempt < 100)
            {
                // Deleted by a rotation between the listing and the open: list again.
            }
        }
    }

    /// <summary>
    /// After a rotation, the file that came after <paramref name="current"/> (which is LOG.k now: LOG.k-1, or LOG itself
    /// when k is 1; the oldest left when the rotation deleted it), opened; null when <paramref name="path"/> still names
    /// <paramref name="current"/>. Files are told apart by inode: one held open cannot be reused by a new file.
    /// </summary>
    private static async Task<FileStream?> OpenSuccessorAsync(string path, FileStream current, CancellationToken cancellationToken)
    {
        ulong inode = Interop.FileStatus.Of(current.SafeFileHandle).Inode;
        for (int attempt = 0; attempt < 100; attempt++)
        {
            if (Interop.FileStatus.TryRead(path) is { } live && live.Inode == inode)
            {
                return null;
            }

            // Newest first: LOG, LOG.1, LOG.2, ... as they are named at this moment (a rename under way may leave one
            // gap in the numbers).
            var names = new List<(string Path, ulong? Inode)> { (path, Interop.FileStatus.TryRead(path)?.Inode) };
            for (int i = 1, missing = 0; missing < 2; i++)
            {
                if (Interop.FileStatus.TryRead($"{path}.{i}") is { } rotated)
                {
                    names.Add(($"{path}.{i}", rotated.Inode));
                    missing = 0;
                }
                else
                {
                    missing++;
                }
            }

            int ours = names.FindIndex(n => n.Inode == inode);
            if (ours == 0)
            {
                return null;
            }

            (string successor, ulong? expected) = ours > 0 ? names[ours - 1] : names[^1];
            if (expected is not null)
            {
                try
                {
                    var next = new FileStream(successor, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.Asynchronous);
                    if (Interop.FileStatus.Of(next.SafeFileHandle).Inode == expected)
                    {
                        return next;
                    }

                    await next.DisposeAsync().ConfigureAwait(false); // renamed again between the listing and the open
                }
                catch (FileNotFoundException)
                {
                    // Renamed or deleted between the listing and the open: list again.
                }
            }

            // In the middle of a rotation (the new file not created yet): a moment later it is there.
            await Task.Delay(TimeSpan.FromMilliseconds(5), cancellationToken).ConfigureAwait(false);
        }

        return null;
    }

    /// <summary>Every complete line up to the end of the file: framed, or kept (the last <paramref name="tail"/>) for --tail.</summary>
    private static async Task CopyLinesAsync(LineReader reader, LogsOptions options, FrameBuffer frames, Queue<byte[]>? kept, int? tail, Stream output, CancellationToken cancellationToken)
    {
        do
        {
            while (reader.TryTakeLine(out ReadOnlyMemory<byte> line))
            {
                if (kept is not null)
                {
                    kept.Enqueue(line.ToArray());
                    if (kept.Count > tail)
                    {
                        kept.Dequeue();
                    }

                    continue;
                }

                Frame(line.Span, options, frames);
                await frames.FlushIfFullAsync(output, cancellationToken).ConfigureAwait(false);
            }
        }
        while (await reader.FillAsync(cancellationToken).ConfigureAwait(false));
    }

    /// <summary>LOG.N ... LOG.1 as the monitor's rotation leaves them, oldest first.</summary>
    private static IEnumerable<string> RotatedFiles(string path)
    {
        var numbered = new List<(int Number, string Path)>();
        for (int i = 1; File.Exists($"{path}.{i}"); i++)
        {
            numbered.Add((i, $"{path}.{i}"));
        }

        return numbered.OrderByDescending(n => n.Number).Select(n => n.Path);
    }

    /// <summary>One log line as a frame (or raw bytes for a TTY container), when its stream and time are wanted.</summary>
    private static void Frame(ReadOnlySpan<byte> line, LogsOptions options, FrameBuffer frames)
    {
        if (line.IsEmpty)
        {
            return;
        }

        ReadOnlySpan<byte> log = default, time = default;
        bool logEscaped = false, timeSeen = false, logSeen = false;
        byte kind = 1;
        try
        {
            var json = new Utf8JsonReader(line);
            if (!json.Read() || json.TokenType != JsonTokenType.StartObject)
            {
                return;
            }

            while (json.Read() && json.TokenType == JsonTokenType.PropertyName)
            {
                if (json.ValueTextEquals("log"u8))
                {
                    json.Read();
                    log = json.ValueSpan;
                    logEscaped = json.ValueIsEscaped;
                    logSeen = json.TokenType == JsonTokenType.String;
                }
                else if (json.ValueTextEquals("stream"u8))
                {
                    json.Read();
                    kind = json.ValueTextEquals("stderr"u8) ? (byte)2 : (byte)1;
                }
                else if (json.ValueTextEquals("time"u8))
                {
                    json.Read();
                    time = json.ValueSpan;
                    timeSeen = json.TokenType == JsonTokenType.String;
                }
                else
                {
                    json.Read();
                    json.Skip();
                }
            }
        }
        catch (JsonException)
        {
            return; // a line cut by a crash mid-write
        }

        if (!logSeen || (kind == 1 && !options.Stdout) || (kind == 2 && !options.Stderr))
        {
            return;
        }

        if (timeSeen && (options.Since > 0 || options.Until > 0)
            && DateTimeOffset.TryParse(Encoding.UTF8.GetString(time), System.Globalization.CultureInfo.InvariantCulture, out DateTimeOffset when))
        {
            long seconds = when.ToUnixTimeSeconds();
            if ((options.Since > 0 && seconds < options.Since) || (options.Until > 0 && seconds > options.Until))
            {
                return;
            }
        }

        bool stamp = options.Timestamps && timeSeen;
        // The unescaped text is never longer than its escaped form; reserve for the worst case, then trim.
        int reserve = (options.Raw ? 0 : 8) + (stamp ? time.Length + 1 : 0) + log.Length;
        Span<byte> target = frames.Reserve(reserve);
        int offset = options.Raw ? 0 : 8;
        if (stamp)
        {
            time.CopyTo(target[offset..]);
            offset += time.Length;
            target[offset++] = (byte)' ';
        }

        offset += logEscaped ? Unescape(line, log, target[offset..]) : Copy(log, target[offset..]);
        if (!options.Raw)
        {
            target[..8].Clear();
            target[0] = kind;
            BinaryPrimitives.WriteUInt32BigEndian(target[4..8], (uint)(offset - 8));
        }

        frames.Commit(offset);
    }

    private static int Copy(ReadOnlySpan<byte> source, Span<byte> target)
    {
        source.CopyTo(target);
        return source.Length;
    }

    /// <summary>The JSON string's unescaped UTF-8 (the reader is positioned again on the log value to let it do the work).</summary>
    private static int Unescape(ReadOnlySpan<byte> line, ReadOnlySpan<byte> escaped, Span<byte> target)
    {
        var json = new Utf8JsonReader(line);
        while (json.Read())
        {
            if (json.TokenType == JsonTokenType.PropertyName && json.ValueTextEquals("log"u8))
            {
                json.Read();
                return json.CopyString(target);
            }
        }

        return Copy(escaped, target);
    }

    /// <summary>Complete lines of a file, read in 64 KiB blocks; a line without its newline yet stays for the next fill.</summary>
    private sealed class LineReader(Stream stream)
    {
        private byte[] _buffer = new byte[1 << 16];
        private int _start;
        private int _end;

        public bool TryTakeLine(out ReadOnlyMemory<byte> line)
        {
            int newline = _buffer.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
            if (newline < 0)
            {
                line = default;
                return false;
            }

            line = _buffer.AsMemory(_start, newline);
            _start += newline + 1;
            return true;
        }

        /// <summary>Reads more; false at the end of the file (for now: a followed file may grow).</summary>
        public async ValueTask<bool> FillAsync(CancellationToken cancellationToken)
        {
            if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }

            if (_end == _buffer.Length)
            {
                Array.Resize(ref _buffer, _buffer.Length * 2); // a line longer than the buffer
            }

            int read = await stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
            _end += read;
            return read > 0;
        }
    }

    /// <summary>Frames waiting to be written, sent in one write once <see cref="FlushThreshold"/> is reached.</summary>
    private sealed class FrameBuffer
    {
        private byte[] _buffer = new byte[FlushThreshold * 2];
        private int _length;

        public Span<byte> Reserve(int size)
        {
            if (_length + size > _buffer.Length)
            {
                Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + size));
            }

            return _buffer.AsSpan(_length, size);
        }

        public void Commit(int size) => _length += size;

        public ValueTask FlushIfFullAsync(Stream output, CancellationToken cancellationToken) =>
            _length >= FlushThreshold ? FlushAsync(output, cancellationToken) : ValueTask.CompletedTask;

        public async ValueTask FlushAsync(Stream output, CancellationToken cancellationToken)
        {
            if (_length > 0)
            {
                await output.WriteAsync(_buffer.AsMemory(0, _length), cancellationToken).ConfigureAwait(false);
                _length = 0;
            }
        }
    }
}
