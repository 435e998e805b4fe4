using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Berth.Api.Server;

/// <summary>
/// Docker's JSON streams (events, stats, pull/build/load progress): one object and its line end in ONE write, then a
/// flush, so each object travels in one HTTP chunk. Clients depend on it: docker-py and docker-compose parse a stream
/// chunk by chunk, and a line end arriving alone at the end of the stream is a parse error for them.
/// </summary>
public static class JsonLines
{
    private static readonly byte[] NewLine = "\n"u8.ToArray();
    private static readonly byte[] CarriageReturnNewLine = "\r\n"u8.ToArray();

    /// <param name="crlf">Docker ends build and pull progress lines with \r\n, everything else with \n.</param>
    public static async Task WriteAsync<T>(Stream body, T value, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken, bool crlf = false)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            JsonSerializer.Serialize(writer, value, typeInfo);
        }

        buffer.Write(crlf ? CarriageReturnNewLine : NewLine);
        await body.WriteAsync(buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
        await body.FlushAsync(cancellationToken).ConfigureAwait(false);
    }
}
