using System.Text.Json;
using Berth.Api.Types;
using Berth.Engine.Volumes;
using Berth.Primitives;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Berth.Api.Server;

/// <summary>/volumes/...: HTTP in, engine calls out.</summary>
public static class VolumeEndpoints
{
    /// <summary>Since API 1.42 prune removes only anonymous volumes unless the <c>all</c> filter says otherwise.</summary>
    private static readonly Version AnonymousOnlyPrune = new(1, 42);

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/volumes", (HttpContext context, IVolumeBackend volumes) =>
            Results.Json(volumes.List(Query.Filters(context.Request)), ApiJsonContext.Default.VolumeListResponse));

        app.MapPost("/volumes/create", async (HttpContext context, IVolumeBackend volumes) =>
        {
            VolumeCreateOptions options;
            try
            {
                options = context.Request.ContentLength is 0
                    ? new VolumeCreateOptions()
                    : await JsonSerializer.DeserializeAsync(context.Request.Body, ApiJsonContext.Default.VolumeCreateOptions, context.RequestAborted).ConfigureAwait(false) ?? new VolumeCreateOptions();
            }
            catch (JsonException e)
            {
                throw EngineException.Invalid(e.Message);
            }

            return Results.Json(volumes.Create(options), ApiJsonContext.Default.Volume, statusCode: StatusCodes.Status201Created);
        });

        app.MapPost("/volumes/prune", (HttpContext context, IVolumeBackend volumes) =>
            Results.Json(volumes.Prune(Query.Filters(context.Request), ApiVersionMiddleware.Of(context) >= AnonymousOnlyPrune), ApiJsonContext.Default.VolumePruneResponse));

        app.MapGet("/volumes/{name}", (string name, IVolumeBackend volumes) =>
            Results.Json(volumes.Inspect(name), ApiJsonContext.Default.Volume));

        app.MapDelete("/volumes/{name}", (string name, HttpContext context, IVolumeBackend volumes) =>
        {
            volumes.Remove(name, Query.Bool(context.Request, "force"));
            return Results.NoContent();
        });
    }
}
