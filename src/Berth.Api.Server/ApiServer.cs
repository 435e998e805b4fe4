using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Berth.Api.Server;

/// <summary>Wires the Engine API onto an application: middleware order, every endpoint group, the 404 fallback.</summary>
public static class ApiServer
{
    public static void UseEngineApi(this WebApplication app, ApiServerOptions options)
    {
        app.UseMiddleware<ApiErrors>();
        app.UseMiddleware<ApiVersionMiddleware>(options);
        app.UseRouting();
        SystemEndpoints.Map(app);
        ContainerEndpoints.Map(app);
        StatsEndpoints.Map(app);
        ExecEndpoints.Map(app);
        ImageEndpoints.Map(app);
        RegistryEndpoints.Map(app);
        VolumeEndpoints.Map(app);
        LifecycleEndpoints.Map(app);
        NetworkEndpoints.Map(app);
        BuildEndpoints.Map(app);
        app.MapFallback((HttpContext context) => ApiErrors.WriteAsync(context, StatusCodes.Status404NotFound, "page not found"));
    }
}
