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
            Results.Json(images.List(Query.Bool(context.Request, "all"), Query.Filters(context.Request)), ApiJsonContext.Default.IReadOnlyListImageSummary));

        // Image names contain slashes (localhost:5000/team/app), so the name is everything before the action.
        app.MapGet("/images/get", (HttpContext context, IImageBackend images) =>
            Save(images.PrepareSave([.. context.Request.Query["names"].Select(n => n ?? "")]), context));

        // Image names contain slashes (localhost:5000/team/app), so the name is everything before the action.
        app.MapGet("/images/{**rest}", (string rest, HttpContext context, IImageBackend images) =>
            rest.EndsWith("/json", StringComparison.Ordinal)
                ? Results.Json(ForVersion(images.Inspect(rest[..^"/json".Length]), context), ApiJsonContext.Default.ImageInspect)
                : rest.EndsWith("/history", StringComparison.Ordinal)
                    ? Results.Json(images.History(rest[..^"/history".Length]), ApiJsonContext.Default.IReadOnlyListHistoryResponseItem)
                    : rest.EndsWith("/get", StringComparison.Ordinal)
                        ? Save(images.PrepareSave([rest[..^"/get".Length]]), context)
                        : throw EngineException.NotFound("page not found"));

        app.MapPost("/images/load", async (HttpContext context, IImageBackend images) =>
        {
            IReadOnlyList<string> loaded = await images.LoadAsync(context.Request.Body, context.RequestAborted).ConfigureAwait(false);
            context.Response.ContentType = "application/json";
            var progress = new StreamProgress(context.Response.Body);
            foreach (string line in loaded)
            {
                await progress.WriteAsync(new ProgressMessage { Stream = line + "\n" }).ConfigureAwait(false);
            }
        });

        app.MapPost("/images/prune", async (HttpContext context, IImageBackend images) =>
            Results.Json(await images.PruneAsync(Query.Filters(context.Request), context.RequestAborted).ConfigureAwait(false), ApiJsonContext.Default.ImagePruneResponse));

        app.MapPost("/images/{**rest}", async (string rest, HttpContext context, IImageBackend images) =>
        {
            if (rest.EndsWith("/push", StringComparison.Ordinal))
            {
                await RegistryEndpoints.PushAsync(context, rest[..^"/push".Length]).ConfigureAwait(false);
                return Results.Empty;
            }

            if (!rest.EndsWith("/tag", StringComparison.Ordinal))
            {
                throw EngineException.NotFound("page not found");
            }

            await images.TagAsync(rest[..^"/tag".Length], context.Request.Query["repo"].ToString(), context.Request.Query["tag"].ToString(), context.RequestAborted).ConfigureAwait(false);
            return Results.StatusCode(StatusCodes.Status201Created);
        });

        app.MapDelete("/images/{**name}", async (string name, HttpContext context, IImageBackend images) =>
            Results.Json(await images.RemoveAsync(name, Query.Bool(context.Request, "force"), context.RequestAborted).ConfigureAwait(false),
                ApiJsonContext.Default.IReadOnlyListImageDeleteResponseItem));

        app.MapPost("/images/create", async (HttpContext context, IImageBackend images) =>
        {
            IQueryCollection query = context.Request.Query;
            string source = query["fromSrc"].ToString();
            if (source.Length > 0)
            {
                if (source != "-")
                {
                    throw EngineException.Invalid($"importing from {source} is not supported: send the archive in the request body (fromSrc=-)");
                }

                string id = await images.ImportAsync(context.Request.Body, query["repo"], query["tag"], query["message"], [.. query["changes"].Where(c => !string.IsNullOrEmpty(c)).Select(c => c!)], context.RequestAborted).ConfigureAwait(false);
                context.Response.ContentType = "application/json";
                await new StreamProgress(context.Response.Body).WriteAsync(new ProgressMessage { Status = id }).ConfigureAwait(false);
                return;
            }

            await RegistryEndpoints.PullAsync(context).ConfigureAwait(false);
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

    /// <summary>Before API 1.45 an image inspect carried <c>Container</c> and <c>ContainerConfig</c>: older clients index them unguarded.</summary>
    private static ImageInspect ForVersion(ImageInspect image, HttpContext context) =>
        ApiVersionMiddleware.Of(context) < new Version(1, 45) ? image with { Container = "", ContainerConfig = image.Config } : image;

    private static IResult Save(Func<Stream, CancellationToken, Task> writer, HttpContext context) =>
        Results.Stream(body => writer(body, context.RequestAborted), "application/x-tar");

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
            await JsonLines.WriteAsync(body, message, ApiJsonContext.Default.ProgressMessage, CancellationToken.None).ConfigureAwait(false);
        }
    }
}
