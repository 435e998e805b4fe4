using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Berth.Registry;

/// <summary>Listings: <c>_catalog</c> and <c>tags/list</c> pages, v1 search, and the JSON and error bodies every handler writes.</summary>
public static partial class RegistryServer
{
    /// <summary>
    /// The v1 search API docker search asks for (<c>?q=TERM&amp;n=LIMIT</c>): repositories whose name contains the term,
    /// in name order. Distribution's registry does not offer it; this one does, so <c>docker search</c> works on a
    /// private registry.
    /// </summary>
    private static async Task SearchAsync(RegistryStorage storage, HttpContext context)
    {
        string query = context.Request.Query["q"].ToString();
        int limit = int.TryParse(context.Request.Query["n"].ToString(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n) && n is > 0 and <= 100 ? n : 25;
        string[] names = [.. storage.Repositories().Where(r => r.Contains(query, StringComparison.OrdinalIgnoreCase)).Order(StringComparer.Ordinal)];
        using var buffer = new MemoryStream();
        await using (var writer = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteNumber("num_results", names.Length);
            writer.WriteString("query", query);
            writer.WriteStartArray("results");
            foreach (string name in names.Take(limit))
            {
                writer.WriteStartObject();
                writer.WriteString("name", name);
                writer.WriteString("description", "");
                writer.WriteNumber("star_count", 0);
                writer.WriteBoolean("is_official", false);
                writer.WriteBoolean("is_automated", false);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        await WriteJsonAsync(context.Response, 200, buffer.ToArray()).ConfigureAwait(false);
    }

    private static async Task WriteJsonAsync(HttpResponse response, int status, byte[] body)
    {
        response.StatusCode = status;
        response.ContentType = "application/json";
        response.ContentLength = body.Length;
        await response.Body.WriteAsync(body).ConfigureAwait(false);
    }

    private static async Task WriteListAsync(HttpResponse response, string key, string? name, IReadOnlyList<string> items, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (name is not null)
            {
                json.WriteString("name", name);
            }

            json.WriteStartArray(key);
            foreach (string item in items)
            {
                json.WriteStringValue(item);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        cancellationToken.ThrowIfCancellationRequested();
        await WriteJsonAsync(response, 200, buffer.ToArray()).ConfigureAwait(false);
    }

    private static async Task WriteErrorAsync(HttpResponse response, RegistryError error, bool head)
    {
        using var buffer = new MemoryStream();
        await using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartArray("errors");
            json.WriteStartObject();
            json.WriteString("code", error.Code);
            json.WriteString("message", error.Message);
            if (error.Detail is not null)
            {
                json.WriteString("detail", error.Detail);
            }

            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
        }

        if (head)
        {
            response.StatusCode = error.Status;
            return;
        }

        await WriteJsonAsync(response, error.Status, buffer.ToArray()).ConfigureAwait(false);
    }
}

/// <summary>A distribution-spec error: HTTP status, error code, message and detail.</summary>
internal sealed class RegistryError(int status, string code, string message, string? detail) : Exception(message)
{
    public int Status { get; } = status;

    public string Code { get; } = code;

    public string? Detail { get; } = detail;
}
