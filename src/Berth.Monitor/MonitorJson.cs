using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Berth.Monitor;

/// <summary>
/// The monitor's few JSON lines, written by hand with <see cref="Utf8JsonWriter"/>: reflection-based
/// serialization is not AOT-safe and these shapes are too small to need a source-generated context.
/// </summary>
internal static class MonitorJson
{
    /// <summary>Length of <see cref="FormatTimestamp"/>'s output: <c>2026-11-23T11:00:00.123456700Z</c>.</summary>
    public const int TimestampLength = 30;

    /// <summary>
    /// Escapes only what JSON requires, as Docker's json-file does; the default encoder would turn
    /// every non-ASCII character of a log line into a six-byte \uXXXX escape.
    /// </summary>
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The sync-pipe line of a created container: <c>{"pid":N}\n</c>.</summary>
    public static byte[] PidLine(int pid) => Line(writer => writer.WriteNumber("pid", pid));

    /// <summary>The sync-pipe line of a failed start-up: <c>{"error":"..."}\n</c>.</summary>
    public static byte[] ErrorLine(string message) => Line(writer => writer.WriteString("error", message));

    /// <summary>The payload of an exec's last (stream 0) frame: <c>{"exitCode":N}</c>, with <c>"error"</c> when the runtime failed.</summary>
    public static byte[] ExecExit(int exitCode, string? error) => Line(writer =>
    {
        writer.WriteNumber("exitCode", exitCode);
        if (error is not null)
        {
            writer.WriteString("error", error);
        }
    });

    /// <summary>The <c>wait</c> answer, also the content of exit.json.</summary>
    public static byte[] ExitLine(int exitCode, DateTime finishedAt, bool oomKilled = false)
    {
        Span<byte> time = stackalloc byte[TimestampLength];
        FormatTimestamp(finishedAt, time);
        byte[] timeBytes = time.ToArray();
        return Line(writer =>
        {
            writer.WriteNumber("exitCode", exitCode);
            writer.WriteString("finishedAt", timeBytes);
            if (oomKilled)
            {
                writer.WriteBoolean("oomKilled", true);
            }
        });
    }

    /// <summary>
    /// Writes <paramref name="utc"/> as RFC 3339 with nine fractional digits (DateTime has seven; the
    /// last two are zero), allocation-free, into <paramref name="destination"/> of <see cref="TimestampLength"/> bytes.
    /// </summary>
    public static void FormatTimestamp(DateTime utc, Span<byte> destination)
    {
        // "O" of a UTC DateTime is "yyyy-MM-ddTHH:mm:ss.fffffffZ" (28 bytes) on a fast, culture-free path.
        if (!utc.ToUniversalTime().TryFormat(destination, out int written, "O") || written != TimestampLength - 2)
        {
            throw new InvalidOperationException("unexpected timestamp format");
        }

        destination[27] = (byte)'0';
        destination[28] = (byte)'0';
        destination[29] = (byte)'Z';
    }

    private static byte[] Line(Action<Utf8JsonWriter> writeProperties)
    {
        var buffer = new ArrayBufferWriter<byte>(64);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            writeProperties(writer);
            writer.WriteEndObject();
        }

        buffer.Write("\n"u8);
        return buffer.WrittenSpan.ToArray();
    }
}
