using System.Text.Json;
using Xunit;

namespace Berth.Monitor.Tests;

public sealed class JsonFileLogWriterTests : IDisposable
{
    private static readonly DateTime Time = new(2026, 11, 23, 11, 0, 0, DateTimeKind.Utc);
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"berth-log-{Guid.NewGuid():N}.log");

    public void Dispose()
    {
        foreach (string file in new[] { _path, _path + ".1", _path + ".2", _path + ".3" })
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void A_chunk_is_split_at_each_newline_and_a_partial_line_is_kept_as_it_is()
    {
        using (var log = JsonFileLogWriter.Open(_path))
        {
            log.Write(1, "one\ntwo\nthr"u8, Time);
            log.Write(2, "oops\n"u8, Time);
            log.Write(1, "ee\n"u8, Time);
        }

        Assert.Equal([("stdout", "one\n"), ("stdout", "two\n"), ("stdout", "thr"), ("stderr", "oops\n"), ("stdout", "ee\n")], Entries());
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, File.GetUnixFileMode(_path));
        Assert.All(File.ReadAllLines(_path), line => Assert.Contains("\"time\":\"2026-11-23T11:00:00.000000000Z\"", line, StringComparison.Ordinal));
    }

    [Fact]
    public void A_character_cut_between_two_reads_is_logged_whole()
    {
        byte[] e = "é"u8.ToArray();
        using (var log = JsonFileLogWriter.Open(_path))
        {
            log.Write(1, [(byte)'x', e[0]], Time);
            log.Write(1, [e[1], (byte)'y', (byte)'\n'], Time);
        }

        Assert.Equal([("stdout", "x"), ("stdout", "éy\n")], Entries());
        Assert.Contains("éy", File.ReadAllText(_path), StringComparison.Ordinal); // raw UTF-8, not \u00e9
    }

    [Fact]
    public void Invalid_utf8_and_a_cut_character_at_the_end_become_replacement_characters()
    {
        using (var log = JsonFileLogWriter.Open(_path))
        {
            log.Write(2, [0xff, (byte)'"', (byte)'\t', (byte)'\n', 0xe2, 0x82], Time);
            log.Complete(2, Time);
        }

        Assert.Equal([("stderr", "\uFFFD\"\t\n"), ("stderr", "\uFFFD")], Entries());
    }

    [Fact]
    public void The_log_is_appended_to()
    {
        File.WriteAllText(_path, "{\"log\":\"before\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-23T10:00:00.000000000Z\"}\n");
        using (var log = JsonFileLogWriter.Open(_path))
        {
            log.Write(1, "after\n"u8, Time);
        }

        Assert.Equal([("stdout", "before\n"), ("stdout", "after\n")], Entries());
    }

    [Fact]
    public void Rotation_keeps_max_file_files_each_ending_with_the_entry_that_reached_max_size()
    {
        using (var log = JsonFileLogWriter.Open(_path, maxSize: 1000, maxFiles: 3))
        {
            for (int i = 0; i < 100; i++)
            {
                log.Write(1, System.Text.Encoding.UTF8.GetBytes($"line {i:D3}\n"), Time);
            }
        }

        Assert.False(File.Exists(_path + ".3"));
        string[] lines = [.. new[] { _path + ".2", _path + ".1", _path }.SelectMany(File.ReadAllLines)];
        int[] numbers = [.. lines.Select(l => int.Parse(JsonDocument.Parse(l).RootElement.GetProperty("log").GetString()![5..8], System.Globalization.CultureInfo.InvariantCulture))];
        Assert.Equal(99, numbers[^1]);
        Assert.Equal(Enumerable.Range(numbers[0], numbers.Length), numbers);
        Assert.InRange(new FileInfo(_path + ".1").Length, 1000, 1100);
        Assert.InRange(new FileInfo(_path + ".2").Length, 1000, 1100);
        Assert.InRange(new FileInfo(_path).Length, 0, 1000);
    }

    [Fact]
    public void Without_a_path_nothing_is_written()
    {
        using var log = JsonFileLogWriter.Open(null);
        log.Write(1, "dropped\n"u8, Time);
        Assert.False(File.Exists(_path));
    }

    [Fact]
    public void Every_line_is_written_byte_for_byte_as_the_json_writer_writes_it()
    {
        // Each ASCII byte inside a line (but the newline, which ends it), quotes, backslashes, HTML characters, DEL, CR, UTF-8, an empty line, a line
        // without its newline: the plain-ASCII shortcut and the writer must not be told apart in the file.
        List<byte[]> lines = [.. Enumerable.Range(0, 0x80).Where(b => b != '\n').Select(b => (byte[])[(byte)'a', (byte)b, (byte)'z', (byte)'\n'])];
        string[] others = ["plain line of text\n", "\n", "say \"hi\" \\ there\n", "<a href='x'>&amp;</a> +\n", "crlf\r\n", "déjà vu\n", "tab\there\n", "no newline"];
        lines.AddRange(others.Select(System.Text.Encoding.UTF8.GetBytes));
        using (var log = JsonFileLogWriter.Open(_path))
        {
            foreach (byte[] line in lines)
            {
                log.Write(2, line, Time);
                log.Write(1, line, Time);
            }
        }

        byte[] timestamp = new byte[MonitorJson.TimestampLength];
        MonitorJson.FormatTimestamp(Time, timestamp);
        var expected = new System.Text.StringBuilder();
        string[] streams = ["stderr", "stdout"];
        foreach (byte[] line in lines)
        {
            foreach (string stream in streams)
            {
                var buffer = new System.Buffers.ArrayBufferWriter<byte>();
                using (var writer = new Utf8JsonWriter(buffer, MonitorJson.WriterOptions))
                {
                    writer.WriteStartObject();
                    writer.WriteString("log", line);
                    writer.WriteString("stream", stream);
                    writer.WriteString("time", timestamp);
                    writer.WriteEndObject();
                }

                expected.Append(System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan)).Append('\n');
            }
        }

        Assert.Equal(expected.ToString(), File.ReadAllText(_path));
    }

    private List<(string?, string?)> Entries() =>
        [.. File.ReadAllLines(_path).Select(line =>
        {
            JsonElement entry = JsonDocument.Parse(line).RootElement;
            return (entry.GetProperty("stream").GetString(), entry.GetProperty("log").GetString());
        })];
}
