using System.Text.Json;
using Berth.Api.Types;
using Berth.Engine.Containers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Berth.Api.Server;

/// <summary>GET /containers/{id}/stats: one JSON object per sample, flushed as it is written.</summary>
public static class StatsEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/containers/{id}/stats", async (string id, HttpContext context, IContainerStatsBackend stats) =>
        {
            HttpRequest q = context.Request;
            bool stream = Query.Bool(q, "stream", fallback: true);
            bool oneShot = Query.Bool(q, "one-shot");
            if (oneShot && stream)
            {
                throw Primitives.EngineException.Invalid("cannot have stream=true and one-shot=true");
            }

            context.Response.ContentType = "application/json";
            await stats.StatsAsync(id, stream, oneShot, async sample =>
            {
                await JsonLines.WriteAsync(context.Response.Body, sample, ApiJsonContext.Default.ContainerStatsResponse, context.RequestAborted).ConfigureAwait(false);
            }, context.RequestAborted).ConfigureAwait(false);
        });
    }
}
