using System.Text.Json;
using System.Text.Json.Serialization;

namespace Berth.Api.Types;

/// <summary>
/// Docker (Go's encoding/json) reads a JSON null into a number as "leave it zero", and clients rely on it: docker-py,
/// and so docker-compose 1.29, send <c>"StartPeriod": null</c> in every healthcheck. These converters give a
/// non-nullable number the same tolerance; writing is unchanged.
/// </summary>
public sealed class NullAsZeroInt64Converter : JsonConverter<long>
{
    public override bool HandleNull => true;

    public override long Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.Null ? 0 : reader.GetInt64();

    public override void Write(Utf8JsonWriter writer, long value, JsonSerializerOptions options) => writer.WriteNumberValue(value);
}

/// <inheritdoc cref="NullAsZeroInt64Converter"/>
public sealed class NullAsZeroInt32Converter : JsonConverter<int>
{
    public override bool HandleNull => true;

    public override int Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.Null ? 0 : reader.GetInt32();

    public override void Write(Utf8JsonWriter writer, int value, JsonSerializerOptions options) => writer.WriteNumberValue(value);
}
