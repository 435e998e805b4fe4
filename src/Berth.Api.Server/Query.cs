using System.Text.Json;
using Berth.Primitives;
using Microsoft.AspNetCore.Http;

namespace Berth.Api.Server;

/// <summary>Query-string conventions of the Engine API: booleans as 1/true, filters as JSON.</summary>
internal static class Query
{
    public static bool Bool(HttpRequest request, string name, bool fallback = false)
    {
        string? value = request.Query[name];
        return value is null ? fallback : value is "1" or "true" or "True" or "yes";
    }

    public static int? Int(HttpRequest request, string name) =>
        int.TryParse(request.Query[name], out int value) ? value : null;

    public static long Long(HttpRequest request, string name) =>
        long.TryParse(request.Query[name], out long value) ? value : (double.TryParse(request.Query[name], System.Globalization.CultureInfo.InvariantCulture, out double d) ? (long)d : 0);

    /// <summary>Parses <c>filters</c>: <c>{"k":["v"]}</c>, or the old <c>{"k":{"v":true}}</c> form.</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> Filters(HttpRequest request)
    {
        string? text = request.Query["filters"];
        var filters = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(text))
        {
            return filters;
        }

        try
        {
            using var doc = JsonDocument.Parse(text);
            foreach (JsonProperty property in doc.RootElement.EnumerateObject())
            {
                filters[property.Name] = property.Value.ValueKind switch
                {
                    JsonValueKind.Array => [.. property.Value.EnumerateArray().Select(v => v.GetString() ?? "")],
                    JsonValueKind.Object => [.. property.Value.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.True).Select(p => p.Name)],
                    _ => throw EngineException.Invalid("invalid filter"),
                };
            }
        }
        catch (JsonException e)
        {
            throw EngineException.Invalid($"invalid filter: {e.Message}");
        }

        return filters;
    }
}
