using System.Buffers;
using System.Text.Json;
using System.Text.Unicode;

namespace Berth.Monitor;

/// <summary>
/// Appends container output to a Docker json-file log: one <c>{"log","stream","time"}</c> object per line.
/// With a size limit the file is rotated as Docker's json-file driver does it: once it holds at least max-size bytes,
/// LOG.N-1 becomes LOG.N (the oldest is dropped), ..., LOG becomes LOG.1 and a new LOG begins (max-file files in all).
/// Without a path nothing is written (log driver "none"). Not thread-safe: the output pumps call it under their shared lock.
/// </summary>
internal sealed class JsonFileLogWriter : IDisposable
{
    private static readonly JsonEncodedText LogName = JsonEncodedText.Encode("log");
    private static readonly JsonEncodedText StreamName = JsonEncodedText.Encode("stream");
    private static readonly JsonEncodedText TimeName = JsonEncodedText.Encode("time");
    private static readonly JsonEncodedText[] StreamValues = [default, JsonEncodedText.Encode("stdout"), JsonEncodedText.Encode("stderr")];

    // What the writer leaves as it is: printable ASCII but the quote and the backslash. A line of only these (and its
    // newline) is copied between fixed pieces, byte for byte what the writer makes of it without its per-entry cost.
    private static readonly SearchValues<byte> Plain = SearchValues.Create(" !#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~"u8);

    private static ReadOnlySpan<byte> PlainStart => "{\"log\":\""u8;

    private static ReadOnlySpan<byte> EscapedNewline => "\\n"u8;

    private static ReadOnlySpan<byte> PlainStdout => "\",\"stream\":\"stdout\",\"time\":\""u8;

    private static ReadOnlySpan<byte> PlainStderr => "\",\"stream\":\"stderr\",\"time\":\""u8;

    private static ReadOnlySpan<byte> PlainEnd => "\"}\n"u8;

    private readonly string? _path;
    private readonly long _maxSize;
    private readonly int _maxFiles;
    private FileStream? _file;
    private long _size;

    // Reused for every chunk, so a chunk costs no allocation once these have grown to fit.
    private readonly ArrayBufferWriter<byte> _lines = new(4096);
    private readonly ArrayBufferWriter<byte> _scratch = new(64);
    private readonly Utf8JsonWriter _json;

    // Per stream, the bytes of a UTF-8 sequence a read cut short: the rest comes with the next chunk,
    // and joining them keeps a character from turning into two U+FFFD in the log.
    private readonly byte[][] _carry = [[], new byte[4], new byte[4]];
    private readonly int[] _carryLength = new int[3];

    private JsonFileLogWriter(string? path, long maxSize, int maxFiles)
    {
        _path = path;
        _maxSize = maxSize;
        _maxFiles = Math.Max(1, maxFiles);
        if (path is not null)
        {
            _file = OpenFile(path);
            _size = _file.Length;
        }

        _json = new Utf8JsonWriter(_lines, MonitorJson.WriterOptions);
    }

    /// <summary>
    /// Opens <paramref name="path"/> for appending, creating it with mode 0640; null logs nothing. A positive
    /// <paramref name="maxSize"/> turns rotation on, keeping <paramref name="maxFiles"/> files.
    /// </summary>
    public static JsonFileLogWriter Open(string? path, long maxSize = 0, int maxFiles = 1) => new(path, maxSize, maxFiles);

    private static FileStream OpenFile(string path) => new(path, new FileStreamOptions
    {
        Mode = FileMode.Append,
        Access = FileAccess.Write,
        Share = FileShare.ReadWrite | FileShare.Delete,
        BufferSize = 0,
        UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead,
    });

    /// <summary>Logs a chunk of stream 1 (stdout) or 2 (stderr), split at each newline, with one write(2).</summary>
    public void Write(int stream, ReadOnlySpan<byte> chunk, DateTime time)
    {
        Span<byte> timestamp = stackalloc byte[MonitorJson.TimestampLength];
        MonitorJson.FormatTimestamp(time, timestamp);
        _lines.ResetWrittenCount();
        while (!chunk.IsEmpty)
        {
            int newline = chunk.IndexOf((byte)'\n');
            ReadOnlySpan<byte> line = newline >= 0 ? chunk[..(newline + 1)] : chunk;
            chunk = chunk[line.Length..];
            if (_carryLength[stream] > 0)
            {
                _scratch.ResetWrittenCount();
                _scratch.Write(_carry[stream].AsSpan(0, _carryLength[stream]));
                _scratch.Write(line);
                line = _scratch.WrittenSpan;
                _carryLength[stream] = 0;
            }

            if (newline < 0)
            {
                // A trailing partial line is logged as it is, less an unfinished UTF-8 sequence.
                int cut = IncompleteSequenceLength(line);
                line[^cut..].CopyTo(_carry[stream]);
                _carryLength[stream] = cut;
                line = line[..^cut];
            }

            if (!line.IsEmpty)
            {
                AppendEntry(stream, line, timestamp);
            }
        }

        Flush();
    }

    /// <summary>At the end of a stream, logs what is left of a cut UTF-8 sequence (as U+FFFD).</summary>
    public void Complete(int stream, DateTime time)
    {
        if (_carryLength[stream] == 0)
        {
            return;
        }

        Span<byte> timestamp = stackalloc byte[MonitorJson.TimestampLength];
        MonitorJson.FormatTimestamp(time, timestamp);
        _lines.ResetWrittenCount();
        AppendEntry(stream, _carry[stream].AsSpan(0, _carryLength[stream]), timestamp);
        _carryLength[stream] = 0;
        Flush();
    }

    public void Dispose()
    {
        _json.Dispose();
        _file?.Dispose();
    }

    private void AppendEntry(int stream, ReadOnlySpan<byte> text, ReadOnlySpan<byte> timestamp)
    {
        if (!TryAppendPlain(stream, text, timestamp))
        {
            AppendWritten(stream, text, timestamp);
        }

        // A file ends with the entry that takes it to max-size or past it (Docker's rule), so check per entry.
        if (_maxSize > 0 && _size + _lines.WrittenCount >= _maxSize)
        {
            Flush();
            _lines.ResetWrittenCount();
            Rotate();
        }
    }

    /// <summary>The entry of a line of plain printable ASCII (the usual case), without the JSON writer; false for any other.</summary>
    private bool TryAppendPlain(int stream, ReadOnlySpan<byte> text, ReadOnlySpan<byte> timestamp)
    {
        bool newline = !text.IsEmpty && text[^1] == (byte)'\n';
        ReadOnlySpan<byte> body = newline ? text[..^1] : text;
        if (body.ContainsAnyExcept(Plain))
        {
            return false;
        }

        ReadOnlySpan<byte> streamPart = stream == 2 ? PlainStderr : PlainStdout;
        int length = PlainStart.Length + body.Length + (newline ? EscapedNewline.Length : 0) + streamPart.Length + timestamp.Length + PlainEnd.Length;
        Span<byte> entry = _lines.GetSpan(length);
        int at = Put(entry, 0, PlainStart);
        at = Put(entry, at, body);
        at = Put(entry, at, newline ? EscapedNewline : default);
        at = Put(entry, at, streamPart);
        at = Put(entry, at, timestamp);
        _ = Put(entry, at, PlainEnd);
        _lines.Advance(length);
        return true;
    }

    private static int Put(Span<byte> destination, int at, ReadOnlySpan<byte> piece)
    {
        piece.CopyTo(destination[at..]);
        return at + piece.Length;
    }

    private void AppendWritten(int stream, ReadOnlySpan<byte> text, ReadOnlySpan<byte> timestamp)
    {
        _json.WriteStartObject();
        if (Utf8.IsValid(text))
        {
            _json.WriteString(LogName, text);
        }
        else
        {
            WriteReplacingInvalid(text);
        }

        _json.WriteString(StreamName, StreamValues[stream]);
        _json.WriteString(TimeName, timestamp);
        _json.WriteEndObject();
        _json.Flush();
        _json.Reset();
        _lines.Write("\n"u8);
    }

    private void Rotate()
    {
        if (_path is null || _file is null)
        {
            return;
        }

        _file.Dispose();
        _file = null;
        try
        {
            if (_maxFiles > 1)
            {
                File.Delete($"{_path}.{_maxFiles - 1}");
                for (int i = _maxFiles - 2; i >= 1; i--)
                {
                    if (File.Exists($"{_path}.{i}"))
                    {
                        File.Move($"{_path}.{i}", $"{_path}.{i + 1}");
                    }
                }

                File.Move(_path, _path + ".1");
            }
            else
            {
                File.Delete(_path);
            }
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"berth-monitor: rotating {_path}: {e.Message}");
        }

        _file = OpenFile(_path);
        _size = _file.Length;
    }

    // Utf8JsonWriter rejects invalid UTF-8, and programs print any bytes; Docker writes U+FFFD for them.
    private void WriteReplacingInvalid(ReadOnlySpan<byte> text)
    {
        char[] chars = ArrayPool<char>.Shared.Rent(text.Length);
        try
        {
            _ = Utf8.ToUtf16(text, chars, out _, out int written, replaceInvalidSequences: true);
            _json.WriteString(LogName, chars.AsSpan(0, written));
        }
        finally
        {
            ArrayPool<char>.Shared.Return(chars);
        }
    }

    private void Flush()
    {
        if (_lines.WrittenCount > 0 && _file is not null)
        {
            _file.Write(_lines.WrittenSpan);
            _size += _lines.WrittenCount;
        }
    }

    /// <summary>How many bytes at the end of <paramref name="text"/> begin a UTF-8 sequence that is not complete.</summary>
    private static int IncompleteSequenceLength(ReadOnlySpan<byte> text)
    {
        for (int back = 1; back <= 3 && back <= text.Length; back++)
        {
            byte b = text[^back];
            if ((b & 0xC0) == 0x80)
            {
                continue; // a continuation byte: the lead is further back
            }

            int needed = (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 1;
            return needed > back ? back : 0;
        }

        return 0;
    }
}
