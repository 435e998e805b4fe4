using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Berth.Api.Types;
using Berth.Engine.Containers;
using Berth.Primitives;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Berth.Api.Server;

/// <summary>/containers/{id}/exec and /exec/...: HTTP in, engine calls out.</summary>
public static class ExecEndpoints
{
    private const string RawStream = "application/vnd.docker.raw-stream";
    private const string MultiplexedStream = "application/vnd.docker.multiplexed-stream";

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/containers/{id}/exec", async (string id, HttpContext context, IExecBackend execs) =>
        {
            ExecCreateRequest request = await ReadBodyAsync(context, ApiJsonContext.Default.ExecCreateRequest).ConfigureAwait(false)
                ?? throw EngineException.Invalid("invalid JSON: exec config cannot be empty");
            return Results.Json(execs.Create(id, request), ApiJsonContext.Default.IdResponse, statusCode: StatusCodes.Status201Created);
        });

        app.MapPost("/exec/{id}/start", async (string id, HttpContext context, IExecBackend execs) =>
        {
            // The body is read whole before any take-over: the client's later bytes are the exec's stdin.
            ExecStartRequest request = await ReadBodyAsync(context, ApiJsonContext.Default.ExecStartRequest).ConfigureAwait(false) ?? new ExecStartRequest();
            if (request.Detach)
            {
                await execs.StartAsync(id, null, context.RequestAborted).ConfigureAwait(false);
                return;
            }

            bool tty = execs.IsTty(id);
            string contentType = tty || ApiVersionMiddleware.Of(context) < new Version(1, 42) ? RawStream : MultiplexedStream;
            // Not RequestAborted: a client that half-closes (no more stdin) still reads the output.
            await execs.StartAsync(id, () => ContainerEndpoints.HijackAsync(context, contentType), CancellationToken.None).ConfigureAwait(false);
        });

        app.MapPost("/exec/{id}/resize", async (string id, HttpContext context, IExecBackend execs) =>
        {
            await execs.ResizeAsync(id, Query.Int(context.Request, "h") ?? 0, Query.Int(context.Request, "w") ?? 0, context.RequestAborted).ConfigureAwait(false);
            return Results.Ok();
        });

        app.MapGet("/exec/{id}/json", (string id, IExecBackend execs) =>
            Results.Json(execs.Inspect(id), ApiJsonContext.Default.ExecInspect));
    }

    private static async Task<T?> ReadBodyAsync<T>(HttpContext context, JsonTypeInfo<T> type)
        where T : class
    {
        if (context.Request.ContentLength == 0)
        {
            return null;
        }

        try
        {
            return await JsonSerializer.DeserializeAsync(context.Request.Body, type, context.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            throw EngineException.Invalid($"invalid JSON: {e.Message}");
        }
    }
}
