using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace Berth.Engine.Containers;

/// <summary>Reads a json-file log (one <c>{"log","stream","time"}</c> object per line) as Docker's multiplexed stream.</summary>
internal static class JsonFileLogReader
{
    private static readonly TimeSpan FollowPoll = TimeSpan.FromMilliseconds(50);

    public static async Task CopyAsync(string path, LogsOptions options, Stream output, Func<bool> isRunning, CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
        {
            if (!options.Follow || !isRunning())
            {
                return;
            }
        }

        await using var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16, FileOptions.Asynchronous);
        using var reader = new StreamReader(file, Encoding.UTF8);
        var lines = new Queue<string>();
        int? tail = int.TryParse(options.Tail, out int t) && t >= 0 ? t : null;

        // Rotated files first, oldest (highest number) to newest, then the live file.
        foreach (string rotated in RotatedFiles(path))
        {
            try
            {
                using var older = new StreamReader(new FileStream(rotated, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16, FileOptions.Asynchronous), Encoding.UTF8);
                await CollectAsync(older, lines, tail, cancellationToken).ConfigureAwait(false);
            }
            catch (FileNotFoundException)
            {
                // Rotated away while we listed: its lines are in a file we read next.
            }
        }

        await CollectAsync(reader, lines, tail, cancellationToken).ConfigureAwait(false);
        string? line;

        foreach (string entry in lines)
        {
            await WriteEntryAsync(entry, options, output, cancellationToken).ConfigureAwait(false);
        }

        await output.FlushAsync(cancellationToken).ConfigureAwait(false);
        if (!options.Follow)
        {
            return;
        }

        // Follow: read what the monitor appends until the container stops and the file is drained.
        var partial = new StringBuilder();
        while (true)
        {
            bool running = isRunning();
            while ((line = await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false)) is not null)
            {
                await WriteEntryAsync(line, options, output, cancellationToken).ConfigureAwait(false);
            }

            await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            if (!running)
            {
                return;
            }

            await Task.Delay(FollowPoll, cancellationToken).ConfigureAwait(false);
        }
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

    private static async Task CollectAsync(StreamReader reader, Queue<string> lines, int? tail, CancellationToken cancellationToken)
    {
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            lines.Enqueue(line);
            if (tail is int max && lines.Count > max)
            {
                lines.Dequeue();
            }
        }
    }

    private static async Task WriteEntryAsync(string line, LogsOptions options, Stream output, CancellationToken cancellationToken)
    {
        if (line.Length == 0)
        {
            return;
        }

        string? text;
        string? stream;
        string? time;
        try
        {
            using var doc = JsonDocument.Parse(line);
            text = doc.RootElement.GetProperty("log").GetString();
            stream = doc.RootElement.GetProperty("stream").GetString();
            time = doc.RootElement.TryGetProperty("time", out JsonElement t) ? t.GetString() : null;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return; // a line cut by a crash mid-write
        }

        byte kind = stream == "stderr" ? (byte)2 : (byte)1;
        if ((kind == 1 && !options.Stdout) || (kind == 2 && !options.Stderr) || text is null)
        {
            return;
        }

        if (time is not null && (options.Since > 0 || options.Until > 0) && DateTimeOffset.TryParse(time, System.Globalization.CultureInfo.InvariantCulture, out DateTimeOffset when))
        {
            long seconds = when.ToUnixTimeSeconds();
            if ((options.Since > 0 && seconds < options.Since) || (options.Until > 0 && seconds > options.Until))
            {
                return;
            }
        }

        string payload = options.Timestamps && time is not null ? time + " " + text : text;
        byte[] bytes = Encoding.UTF8.GetBytes(payload);
        if (!options.Raw)
        {
            byte[] header = new byte[8];
            header[0] = kind;
            BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), (uint)bytes.Length);
            await output.WriteAsync(header, cancellationToken).ConfigureAwait(false);
        }

        await output.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
    }
}
