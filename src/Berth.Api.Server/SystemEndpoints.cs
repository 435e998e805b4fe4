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
        // Berth has no plugins: docker info and docker plugin ls list none.
        app.MapGet("/plugins", () => Results.Text("[]", "application/json"));
        // Plugin names hold slashes (vieux/sshfs:latest). Only GET /plugins/{name}/json is served: there are no plugins.
        app.MapGet("/plugins/{**name}", IResult (string name) =>
            throw (name.EndsWith("/json", StringComparison.Ordinal)
                ? Primitives.EngineException.NotFound($"plugin \"{name[..^"/json".Length]}\" not found")
                : Primitives.EngineException.NotFound("page not found")));
    }
}
