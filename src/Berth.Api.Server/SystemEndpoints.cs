using Berth.Api.Types;
using Berth.Engine.Host;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Berth.Api.Server;

/// <summary>/_ping, /version, /info.</summary>
public static class SystemEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapMethods("/_ping", ["GET", "HEAD"], (HttpContext context) =>
        {
            context.Response.Headers.CacheControl = "no-cache, no-store, must-revalidate";
            context.Response.Headers.Pragma = "no-cache";
            context.Response.ContentType = "text/plain; charset=utf-8";
            return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : context.Response.WriteAsync("OK", context.RequestAborted);
        });
        app.MapGet("/version", async (ISystemBackend system, CancellationToken ct) =>
            Results.Json(await system.VersionAsync(ct).ConfigureAwait(false), ApiJsonContext.Default.SystemVersion));
        app.MapGet("/info", async (ISystemBackend system, CancellationToken ct) =>
            Results.Json(await system.InfoAsync(ct).ConfigureAwait(false), ApiJsonContext.Default.SystemInfo));
        app.MapGet("/plugins/{**name}", IResult (string name) =>
            throw Primitives.EngineException.NotFound($"plugin \"{name.Replace("/json", "", StringComparison.Ordinal)}\" not found"));
    }
}
