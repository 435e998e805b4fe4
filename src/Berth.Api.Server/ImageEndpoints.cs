using System.Text.Json;
using Berth.Api.Types;
using Berth.Engine.Images;
using Berth.Primitives;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Berth.Api.Server;

/// <summary>/images/... and Berth's own /berth/images/bootstrap.</summary>
public static class ImageEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/images/json", (HttpContext context, IImageBackend images) =>
            Results.Json(images.List(Query.Bool(context.Request, "all")), ApiJsonContext.Default.IReadOnlyListImageSummary));

        // Image names contain slashes (localhost:5000/team/app), so the name is everything before the action.
        app.MapGet("/images/{**rest}", (string rest, IImageBackend images) =>
            rest.EndsWith("/json", StringComparison.Ordinal)
                ? Results.Json(images.Inspect(rest[..^"/json".Length]), ApiJsonContext.Default.ImageInspect)
                : throw EngineException.NotFound("page not found"));

        app.MapDelete("/images/{**name}", async (string name, HttpContext context, IImageBackend images) =>
            Results.Json(await images.RemoveAsync(name, Query.Bool(context.Request, "force"), context.RequestAborted).ConfigureAwait(false),
                ApiJsonContext.Default.IReadOnlyListImageDeleteResponseItem));

        app.MapPost("/images/create", (HttpContext context) =>
        {
            string image = context.Request.Query["fromImage"].ToString();
            throw EngineException.NotFound(
                $"pull access denied for {image}: registry access is not available yet in Berth; create base images offline with `berth image bootstrap busybox`");
        });

        app.MapPost("/berth/images/bootstrap", async (HttpContext context, IImageBackend images) =>
        {
            string name = context.Request.Query["name"].ToString();
            if (string.IsNullOrEmpty(name))
            {
                throw EngineException.Invalid("name is required");
            }

            context.Response.ContentType = "application/json";
            await context.Response.StartAsync(context.RequestAborted).ConfigureAwait(false);
            var progress = new StreamProgress(context.Response.Body);
            try
            {
                string id = await images.BootstrapAsync(name, progress, context.RequestAborted).ConfigureAwait(false);
                await progress.WriteAsync(new ProgressMessage { Status = $"Bootstrapped {name}: {id}" }).ConfigureAwait(false);
            }
            catch (EngineException e)
            {
                await progress.WriteAsync(new ProgressMessage { Error = e.Message, ErrorDetail = new ErrorResponse { Message = e.Message } }).ConfigureAwait(false);
            }
        });
    }

    /// <summary>Writes progress lines as Docker's JSON message stream, in order.</summary>
    private sealed class StreamProgress(Stream body) : IProgress<string>
    {
        private Task _last = Task.CompletedTask;

        public void Report(string value)
        {
            lock (this)
            {
                Task previous = _last;
                _last = WriteAfterAsync(previous, new ProgressMessage { Status = value });
            }
        }

        public async Task WriteAsync(ProgressMessage message)
        {
            Task previous;
            lock (this)
            {
                previous = _last;
            }

            await WriteAfterAsync(previous, message).ConfigureAwait(false);
        }

        private async Task WriteAfterAsync(Task previous, ProgressMessage message)
        {
            await previous.ConfigureAwait(false);
            await JsonSerializer.SerializeAsync(body, message, ApiJsonContext.Default.ProgressMessage).ConfigureAwait(false);
            await body.WriteAsync("\n"u8.ToArray()).ConfigureAwait(false);
            await body.FlushAsync().ConfigureAwait(false);
        }
    }
}
