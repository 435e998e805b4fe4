using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Berth.Api.Client;
using Berth.Api.Types;

namespace Berth.UnitTests;

/// <summary>The CLI's serialization-only request context writes exactly what the metadata context writes.</summary>
public sealed class RequestJsonTests
{
    [Fact]
    public void CreateRequestWithEveryFieldSetIsWrittenTheSameWay()
    {
        var request = Filled(ApiJsonContext.Default.ContainerCreateRequest);
        Assert.NotNull(request.Healthcheck);
        AssertSameBytes(request, ApiJsonContext.Default.ContainerCreateRequest, RequestJsonContext.Default.ContainerCreateRequest);
        AssertSameBytes(new ContainerCreateRequest(), ApiJsonContext.Default.ContainerCreateRequest, RequestJsonContext.Default.ContainerCreateRequest);
    }

    [Fact]
    public void ExecRequestsWithEveryFieldSetAreWrittenTheSameWay()
    {
        AssertSameBytes(Filled(ApiJsonContext.Default.ExecCreateRequest), ApiJsonContext.Default.ExecCreateRequest, RequestJsonContext.Default.ExecCreateRequest);
        AssertSameBytes(Filled(ApiJsonContext.Default.ExecStartRequest), ApiJsonContext.Default.ExecStartRequest, RequestJsonContext.Default.ExecStartRequest);
    }

    private static void AssertSameBytes<T>(T value, JsonTypeInfo<T> metadata, JsonTypeInfo<T> fastPath)
    {
        string expected = JsonSerializer.Serialize(value, metadata);
        Assert.Equal(expected, JsonSerializer.Serialize(value, fastPath));
    }

    /// <summary>A value whose every property, at every depth, holds something other than its default.</summary>
    private static T Filled<T>(JsonTypeInfo<T> info)
    {
        JsonNode sample = Sample(info, depth: 0) ?? throw new InvalidOperationException("no sample");
        T value = sample.Deserialize(info)!;
        // Read back, every property must have survived: otherwise the comparison would miss it.
        JsonObject written = JsonNode.Parse(JsonSerializer.Serialize(value, info))!.AsObject();
        foreach (JsonPropertyInfo property in info.Properties)
        {
            Assert.True(written[property.Name] is not null, $"{typeof(T).Name}.{property.Name} was not filled");
        }

        return value;
    }

    private static JsonNode? Sample(JsonTypeInfo info, int depth)
    {
        Type type = Nullable.GetUnderlyingType(info.Type) ?? info.Type;
        switch (info.Kind)
        {
            case JsonTypeInfoKind.Object when depth < 6:
                var obj = new JsonObject();
                foreach (JsonPropertyInfo property in info.Properties)
                {
                    obj[property.Name] = Sample(info.Options.GetTypeInfo(property.PropertyType), depth + 1);
                }

                return obj;
            case JsonTypeInfoKind.Enumerable when info.ElementType is not null:
                return new JsonArray(Sample(info.Options.GetTypeInfo(info.ElementType), depth + 1));
            case JsonTypeInfoKind.Dictionary when info.ElementType is not null:
                return new JsonObject { ["key"] = Sample(info.Options.GetTypeInfo(info.ElementType), depth + 1) };
            case JsonTypeInfoKind.None:
                return type == typeof(string) ? JsonValue.Create("text")
                    : type == typeof(bool) ? JsonValue.Create(true)
                    : type == typeof(DateTimeOffset) || type == typeof(DateTime) ? JsonValue.Create("2026-01-02T03:04:05Z")
                    : type == typeof(JsonElement) || type == typeof(object) ? JsonValue.Create("any")
                    : type.IsEnum ? JsonValue.Create(0)
                    : JsonValue.Create(7);
            default:
                return null;
        }
    }
}
