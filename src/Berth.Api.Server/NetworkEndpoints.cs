using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Berth.Api.Types;
using Berth.Engine.Networking;
using Berth.Primitives;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Berth.Api.Server;

/// <summary>/networks/...</summary>
public static class NetworkEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/networks", (HttpContext context, INetworkBackend networks) =>
            Results.Json(networks.List(Query.Filters(context.Request)), ApiJsonContext.Default.IReadOnlyListNetworkInspect));

        app.MapGet("/networks/{id}", (string id, INetworkBackend networks) =>
            Results.Json(networks.Inspect(id), ApiJsonContext.Default.NetworkInspect));

        app.MapPost("/networks/create", async (HttpContext context, INetworkBackend networks) =>
        {
            NetworkCreateRequest request = await ReadAsync(context, ApiJsonContext.Default.NetworkCreateRequest).ConfigureAwait(false);
            return Results.Json(await networks.CreateAsync(request, context.RequestAborted).ConfigureAwait(false), ApiJsonContext.Default.NetworkCreateResponse, statusCode: StatusCodes.Status201Created);
        });

        app.MapPost("/networks/prune", async (HttpContext context, INetworkBackend networks) =>
            Results.Json(await networks.PruneAsync(Query.Filters(context.Request), context.RequestAborted).ConfigureAwait(false), ApiJsonContext.Default.NetworkPruneResponse));

        app.MapPost("/networks/{id}/connect", async (string id, HttpContext context, INetworkBackend networks) =>
        {
            NetworkConnectRequest request = await ReadAsync(context, ApiJsonContext.Default.NetworkConnectRequest).ConfigureAwait(false);
            await networks.ConnectAsync(id, request, context.RequestAborted).ConfigureAwait(false);
            return Results.Ok();
        });

        app.MapPost("/networks/{id}/disconnect", async (string id, HttpContext context, INetworkBackend networks) =>
        {
            NetworkDisconnectRequest request = await ReadAsync(context, ApiJsonContext.Default.NetworkDisconnectRequest).ConfigureAwait(false);
            await networks.DisconnectAsync(id, request, context.RequestAborted).ConfigureAwait(false);
            return Results.Ok();
        });

        app.MapDelete("/networks/{id}", async (string id, HttpContext context, INetworkBackend networks) =>
        {
            await networks.RemoveAsync(id, context.RequestAborted).ConfigureAwait(false);
            return Results.NoContent();
        });
    }

    private static async Task<T> ReadAsync<T>(HttpContext context, JsonTypeInfo<T> type)
    {
        try
        {
            return await JsonSerializer.DeserializeAsync(context.Request.Body, type, context.RequestAborted).ConfigureAwait(false)
                ?? throw EngineException.Invalid("invalid JSON: request body is empty");
        }
        catch (JsonException e)
        {
            throw EngineException.Invalid("invalid JSON: " + e.Message);
        }
    }
}
