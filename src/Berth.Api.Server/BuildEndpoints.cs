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
