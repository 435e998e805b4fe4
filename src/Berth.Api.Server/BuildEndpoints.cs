using System.Text.Json;
using Berth.Api.Types;
using Berth.Engine.Build;
using Berth.Primitives;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Berth.Api.Server;

/// <summary>POST /build: the context tar in the body, the classic builder's JSON message stream out.</summary>
public static class BuildEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/build", async (HttpContext context, IBuildBackend builder) =>
        {
            IQueryCollection query = context.Request.Query;
            var request = new BuildRequest
            {
                Tags = [.. query["t"].Where(t => !string.IsNullOrEmpty(t)).Select(t => t!)],
                Dockerfile = query["dockerfile"].ToString() is { Length: > 0 } dockerfile ? dockerfile : "Dockerfile",
                BuildArgs = JsonMap(query["buildargs"].ToString(), "buildargs"),
                Labels = JsonMap(query["labels"].ToString(), "labels").ToDictionary(p => p.Key, p => p.Value ?? "", StringComparer.Ordinal),
                NoCache = Query.Bool(context.Request, "nocache"),
                Target = query["target"].ToString() is { Length: > 0 } target ? target : null,
                Quiet = Query.Bool(context.Request, "q"),
                NetworkMode = query["networkmode"].ToString() is { Length: > 0 } network ? network : null,
                ExtraHosts = [.. query["extrahosts"].SelectMany(h => (h ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))],
                CacheFrom = JsonList(query["cachefrom"].ToString(), "cachefrom"),
                Pull = Query.Bool(context.Request, "pull"),
                Secrets = Secrets(context.Request.Headers[SecretsHeader].ToString()),
            };
            if (query["remote"].ToString() is { Length: > 0 } remote)
            {
                throw EngineException.Invalid($"remote build contexts ({remote}) need network access: send the context as the request body");
            }

            context.Response.ContentType = "application/json";
            await context.Response.StartAsync(context.RequestAborted).ConfigureAwait(false);
            Stream body = context.Response.Body;
            await builder.BuildAsync(request, context.Request.Body,
                message => JsonLines.WriteAsync(body, message, ApiJsonContext.Default.ProgressMessage, context.RequestAborted, crlf: true),
                context.RequestAborted).ConfigureAwait(false);
        });

        app.MapPost("/build/prune", async (HttpContext context, IBuildBackend builder) =>
            Results.Json(await builder.PruneAsync(Query.Bool(context.Request, "all"), context.RequestAborted).ConfigureAwait(false), ApiJsonContext.Default.BuildCachePruneResponse));
    }

    /// <summary>
    /// Berth's carrier for <c>berth build --secret</c> (the docker CLI's classic builder has none): base64 of a JSON
    /// object, secret id to base64 contents. A header rather than the context tar so a secret can never become a
    /// context file that COPY could read; Kestrel's header limit (32 KiB in all) bounds the secrets' size.
    /// </summary>
    public const string SecretsHeader = "X-Berth-Build-Secrets";

    private static Dictionary<string, byte[]> Secrets(string header)
    {
        if (string.IsNullOrEmpty(header))
        {
            return [];
        }

        try
        {
            Dictionary<string, string> encoded = JsonSerializer.Deserialize(Convert.FromBase64String(header), ApiJsonContext.Default.DictionaryStringString)!;
            return encoded.ToDictionary(p => p.Key, p => Convert.FromBase64String(p.Value), StringComparer.Ordinal);
        }
        catch (Exception e) when (e is JsonException or FormatException)
        {
            throw EngineException.Invalid($"invalid {SecretsHeader} header");
        }
    }

    private static List<string> JsonList(string json, string name)
    {
        if (string.IsNullOrEmpty(json))
        {
            return [];
        }

        try
        {
            using JsonDocument document = JsonDocument.Parse(json);
            return [.. document.RootElement.EnumerateArray().Select(e => e.GetString() ?? "").Where(e => e.Length > 0)];
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw EngineException.Invalid($"invalid {name} parameter: {json}");
        }
    }

    private static Dictionary<string, string?> JsonMap(string json, string name)
    {
        if (string.IsNullOrEmpty(json))
        {
            return [];
        }

        try
        {
            return JsonSerializer.Deserialize(json, ApiJsonContext.Default.DictionaryStringString)!.ToDictionary(p => p.Key, p => (string?)p.Value, StringComparer.Ordinal);
        }
        catch (JsonException)
        {
            throw EngineException.Invalid($"invalid {name} parameter: {json}");
        }
    }
}
