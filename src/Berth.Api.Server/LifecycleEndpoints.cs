using System.Text.Json;
using Berth.Api.Types;
using Berth.Engine.Containers;
using Berth.Engine.Events;
using Berth.Engine.Host;
using Berth.Primitives;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;

namespace Berth.Api.Server;

/// <summary>/events, /system/df, /containers/prune and /containers/{id}/update.</summary>
public static class LifecycleEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/events", async (HttpContext context, IEventBackend events) =>
        {
            HttpRequest q = context.Request;
            // Read validates the query: a bad filter or time is a 400 before the headers go out.
            IAsyncEnumerable<EventMessage> stream = events.Read(q.Query["since"], q.Query["until"], Query.Filters(q), context.RequestAborted);
            context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Response.ContentType = "application/json";
            await context.Response.StartAsync(context.RequestAborted).ConfigureAwait(false);
            await context.Response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
            try
            {
                await foreach (EventMessage message in stream.ConfigureAwait(false))
                {
                    await JsonLines.WriteAsync(context.Response.Body, message, ApiJsonContext.Default.EventMessage, context.RequestAborted).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or IOException && context.RequestAborted.IsCancellationRequested)
            {
                // the client went away
            }
        });

        app.MapGet("/system/df", async (IDiskUsageBackend usage, CancellationToken ct) =>
            Results.Json(await usage.DataUsageAsync(ct).ConfigureAwait(false), ApiJsonContext.Default.SystemDataUsage));

        app.MapPost("/containers/prune", async (HttpContext context, IContainerLifecycleBackend containers) =>
            Results.Json(await containers.PruneAsync(Query.Filters(context.Request), context.RequestAborted).ConfigureAwait(false), ApiJsonContext.Default.ContainerPruneResponse));

        app.MapPost("/containers/{id}/update", async (string id, HttpContext context, IContainerLifecycleBackend containers) =>
        {
            ContainerUpdateRequest? request;
            try
            {
                request = await JsonSerializer.DeserializeAsync(context.Request.Body, ApiJsonContext.Default.ContainerUpdateRequest, context.RequestAborted).ConfigureAwait(false);
            }
            catch (JsonException e)
            {
                throw EngineException.Invalid($"invalid JSON: {e.Message}");
            }

            ContainerUpdateResponse response = await containers.UpdateAsync(id, request ?? new ContainerUpdateRequest(), context.RequestAborted).ConfigureAwait(false);
            return Results.Json(response, ApiJsonContext.Default.ContainerUpdateResponse);
        });
    }
}
