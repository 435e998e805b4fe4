using System.Text.Json;
using Berth.Api.Types;
using Berth.Engine.Containers;
using Berth.Primitives;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;

namespace Berth.Api.Server;

/// <summary>/containers/...: HTTP in, engine calls out, nothing else.</summary>
public static class ContainerEndpoints
{
    private const string RawStream = "application/vnd.docker.raw-stream";
    private const string MultiplexedStream = "application/vnd.docker.multiplexed-stream";

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/containers/create", async (HttpContext context, IContainerBackend containers) =>
        {
            ContainerCreateRequest request = await ReadBodyAsync(context).ConfigureAwait(false);
            string? name = context.Request.Query["name"];
            ContainerCreateResponse response = await containers.CreateAsync(string.IsNullOrEmpty(name) ? null : name, request, context.RequestAborted).ConfigureAwait(false);
            return Results.Json(response, ApiJsonContext.Default.ContainerCreateResponse, statusCode: StatusCodes.Status201Created);
        });

        app.MapGet("/containers/json", (HttpContext context, IContainerBackend containers) =>
        {
            HttpRequest q = context.Request;
            int limit = Query.Int(q, "limit") ?? -1;
            if (Query.Bool(q, "latest"))
            {
                limit = 1;
            }

            return Results.Json(containers.List(Query.Bool(q, "all"), limit, Query.Filters(q)), ApiJsonContext.Default.IReadOnlyListContainerSummary);
        });

        app.MapGet("/containers/{id}/json", (string id, IContainerBackend containers) =>
            Results.Json(containers.Inspect(id), ApiJsonContext.Default.ContainerInspect));

        app.MapPost("/containers/{id}/start", async (string id, IContainerBackend containers, CancellationToken ct) =>
            await containers.StartAsync(id, ct).ConfigureAwait(false) ? Results.NoContent() : Results.StatusCode(StatusCodes.Status304NotModified));

        app.MapPost("/containers/{id}/stop", async (string id, HttpContext context, IContainerBackend containers) =>
            await containers.StopAsync(id, Query.Int(context.Request, "t") ?? Query.Int(context.Request, "timeout"), context.Request.Query["signal"], context.RequestAborted).ConfigureAwait(false)
                ? Results.NoContent()
                : Results.StatusCode(StatusCodes.Status304NotModified));

        app.MapPost("/containers/{id}/kill", async (string id, HttpContext context, IContainerBackend containers) =>
        {
            await containers.KillAsync(id, context.Request.Query["signal"], context.RequestAborted).ConfigureAwait(false);
            return Results.NoContent();
        });

        app.MapPost("/containers/{id}/pause", async (string id, HttpContext context, IContainerBackend containers) =>
        {
            await containers.PauseAsync(id, context.RequestAborted).ConfigureAwait(false);
            return Results.NoContent();
        });

        app.MapPost("/containers/{id}/unpause", async (string id, HttpContext context, IContainerBackend containers) =>
        {
            await containers.UnpauseAsync(id, context.RequestAborted).ConfigureAwait(false);
            return Results.NoContent();
        });

        app.MapPost("/containers/{id}/restart", async (string id, HttpContext context, IContainerBackend containers) =>
        {
            await containers.RestartAsync(id, Query.Int(context.Request, "t") ?? Query.Int(context.Request, "timeout"), context.Request.Query["signal"], context.RequestAborted).ConfigureAwait(false);
            return Results.NoContent();
        });

        app.MapPost("/containers/{id}/rename", async (string id, HttpContext context, IContainerBackend containers) =>
        {
            await containers.RenameAsync(id, context.Request.Query["name"].ToString(), context.RequestAborted).ConfigureAwait(false);
            return Results.NoContent();
        });

        app.MapGet("/containers/{id}/top", async (string id, HttpContext context, IContainerBackend containers) =>
        {
            (IReadOnlyList<string> titles, IReadOnlyList<IReadOnlyList<string>> processes) = await containers.TopAsync(id, context.Request.Query["ps_args"], context.RequestAborted).ConfigureAwait(false);
            return Results.Json(new ContainerTopResponse { Titles = titles, Processes = processes }, ApiJsonContext.Default.ContainerTopResponse);
        });

        app.MapPost("/commit", async (HttpContext context, IContainerBackend containers) =>
        {
            HttpRequest request = context.Request;
            ContainerConfig? config = request.ContentLength is > 0 || request.Headers.TransferEncoding.Count > 0
                ? await System.Text.Json.JsonSerializer.DeserializeAsync(request.Body, ApiJsonContext.Default.ContainerConfig, context.RequestAborted).ConfigureAwait(false)
                : null;
            string id = await containers.CommitAsync(
                request.Query["container"].ToString(), request.Query["repo"], request.Query["tag"], request.Query["comment"], request.Query["author"],
                Query.Bool(request, "pause", fallback: true), [.. request.Query["changes"].Where(c => !string.IsNullOrEmpty(c)).Select(c => c!)], config, context.RequestAborted).ConfigureAwait(false);
            return Results.Json(new IdResponse { Id = id }, ApiJsonContext.Default.IdResponse, statusCode: StatusCodes.Status201Created);
        });

        app.MapGet("/containers/{id}/changes", (string id, IContainerBackend containers) =>
            Results.Json(containers.Changes(id), ApiJsonContext.Default.IReadOnlyListFilesystemChange));

        app.MapGet("/containers/{id}/export", async (string id, HttpContext context, IContainerBackend containers) =>
        {
            _ = containers.Inspect(id); // a missing container is a 404 before any byte goes out
            context.Response.ContentType = "application/x-tar";
            await containers.ExportAsync(id, context.Response.Body, context.RequestAborted).ConfigureAwait(false);
        });

        app.MapMethods("/containers/{id}/archive", ["HEAD"], async (string id, HttpContext context, IContainerBackend containers) =>
        {
            ContainerPathStat stat = await containers.StatPathAsync(id, context.Request.Query["path"].ToString(), context.RequestAborted).ConfigureAwait(false);
            context.Response.Headers["X-Docker-Container-Path-Stat"] = PathStatHeader(stat);
            context.Response.StatusCode = StatusCodes.Status200OK;
        });

        app.MapGet("/containers/{id}/archive", async (string id, HttpContext context, IContainerBackend containers) =>
        {
            await containers.GetArchiveAsync(id, context.Request.Query["path"].ToString(), async stat =>
            {
                context.Response.Headers["X-Docker-Container-Path-Stat"] = PathStatHeader(stat);
                context.Response.ContentType = "application/x-tar";
                await context.Response.StartAsync(context.RequestAborted).ConfigureAwait(false);
                return context.Response.Body;
            }, context.RequestAborted).ConfigureAwait(false);
        });

        app.MapPut("/containers/{id}/archive", async (string id, HttpContext context, IContainerBackend containers) =>
        {
            HttpRequest request = context.Request;
            await containers.PutArchiveAsync(id, request.Query["path"].ToString(), request.Body, Query.Bool(request, "noOverwriteDirNonDir"), Query.Bool(request, "copyUIDGID"), context.RequestAborted).ConfigureAwait(false);
            return Results.Ok();
        });

        app.MapPost("/containers/{id}/wait", async (string id, HttpContext context, IContainerBackend containers) =>
        {
            // Look the container up first so a missing one still gets a proper 404 before the headers go out.
            _ = containers.Inspect(id);
            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Response.ContentType = "application/json";
            // Headers go out at once: clients (docker run) wait for them before they start the container.
            await context.Response.StartAsync(context.RequestAborted).ConfigureAwait(false);
            await context.Response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
            ContainerWaitResponse result;
            try
            {
                result = await containers.WaitAsync(id, context.Request.Query["condition"].ToString(), context.RequestAborted).ConfigureAwait(false);
            }
            catch (EngineException e)
            {
                result = new ContainerWaitResponse { StatusCode = -1, Error = new WaitError { Message = e.Message } };
            }

            await JsonLines.WriteAsync(context.Response.Body, result, ApiJsonContext.Default.ContainerWaitResponse, context.RequestAborted).ConfigureAwait(false);
        });

        app.MapPost("/containers/{id}/attach", async (string id, HttpContext context, IContainerBackend containers) =>
        {
            HttpRequest q = context.Request;
            ContainerInspect container = containers.Inspect(id);
            var options = new AttachOptions(Query.Bool(q, "stdin"), Query.Bool(q, "stdout"), Query.Bool(q, "stderr"), Query.Bool(q, "logs"), Query.Bool(q, "stream"), q.Query["detachKeys"]);
            string contentType = container.Config.Tty || ApiVersionMiddleware.Of(context) < new Version(1, 42) ? RawStream : MultiplexedStream;
            // Not RequestAborted: a client that half-closes (no stdin) aborts the request in Kestrel's eyes,
            // yet still reads the output. A client that really leaves fails the next write instead.
            await containers.AttachAsync(id, options, () => HijackAsync(context, contentType), CancellationToken.None).ConfigureAwait(false);
        });

        app.MapPost("/containers/{id}/resize", async (string id, HttpContext context, IContainerBackend containers) =>
        {
            await containers.ResizeAsync(id, Query.Int(context.Request, "h") ?? 0, Query.Int(context.Request, "w") ?? 0, context.RequestAborted).ConfigureAwait(false);
            return Results.Ok();
        });

        app.MapGet("/containers/{id}/logs", async (string id, HttpContext context, IContainerBackend containers) =>
        {
            HttpRequest q = context.Request;
            var options = new LogsOptions(Query.Bool(q, "stdout"), Query.Bool(q, "stderr"), Query.Bool(q, "follow"), Query.Bool(q, "timestamps"),
                q.Query["tail"], Query.Long(q, "since"), Query.Long(q, "until"));
            if (!options.Stdout && !options.Stderr)
            {
                throw EngineException.Invalid("You must choose at least one stream");
            }

            ContainerInspect container = containers.Inspect(id);
            if (container.HostConfig.LogConfig?.Type == "none")
            {
                // Answered before the stream's headers go out (the engine refuses it too).
                throw EngineException.Invalid("configured logging driver does not support reading");
            }

            context.Response.ContentType = container.Config.Tty ? RawStream : MultiplexedStream;
            await context.Response.StartAsync(context.RequestAborted).ConfigureAwait(false);
            await containers.LogsAsync(id, options, context.Response.Body, context.RequestAborted).ConfigureAwait(false);
        });

        app.MapDelete("/containers/{id}", async (string id, HttpContext context, IContainerBackend containers) =>
        {
            await containers.RemoveAsync(id, Query.Bool(context.Request, "force"), Query.Bool(context.Request, "v"), context.RequestAborted).ConfigureAwait(false);
            return Results.NoContent();
        });
    }

    private static async Task<ContainerCreateRequest> ReadBodyAsync(HttpContext context)
    {
        if (context.Request.ContentLength == 0)
        {
            throw EngineException.Invalid("invalid JSON: request body is empty");
        }

        ContainerCreateRequest? request;
        try
        {
            request = await JsonSerializer.DeserializeAsync(context.Request.Body, ApiJsonContext.Default.ContainerCreateRequest, context.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            throw EngineException.Invalid($"invalid JSON: {e.Message}");
        }

        return request ?? throw EngineException.Invalid("invalid JSON: config cannot be empty in order to create a container");
    }

    /// <summary>
    /// Takes over the connection: <c>101 UPGRADED</c> when the client asked for an upgrade (docker CLI, docker-py),
    /// else <c>200</c> and the raw response stream (old clients hijack without asking).
    /// </summary>
    internal static async Task<Stream> HijackAsync(HttpContext context, string contentType)
    {
        // Divert the client's input before answering: clients send stdin only once they have the answer.
        HijackableConnection? connection = HijackableConnection.Of(context);
        Stream? input = connection?.Divert();
        context.Response.Headers.ContentType = contentType;
        IHttpUpgradeFeature? upgrade = context.Features.Get<IHttpUpgradeFeature>();
        if (upgrade is { IsUpgradableRequest: true })
        {
            context.Response.Headers.Connection = "Upgrade";
            context.Response.Headers.Upgrade = "tcp";
            Stream upgraded = await upgrade.UpgradeAsync().ConfigureAwait(false);
            return input is null ? upgraded : new DuplexResponseStream(input, upgraded, connection);
        }

        // Kestrel does not upgrade a request with a body (POST /exec/{id}/start): answer 101 below it.
        if (connection is not null && context.Request.Headers.Upgrade.Count > 0
            && context.Request.Headers.Connection.ToString().Contains("upgrade", StringComparison.OrdinalIgnoreCase))
        {
            string head = $"HTTP/1.1 101 UPGRADED\r\nContent-Type: {contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
                + $"Api-Version: {context.Response.Headers["Api-Version"]}\r\n\r\n";
            return await connection.TakeOverAsync(System.Text.Encoding.ASCII.GetBytes(head)).ConfigureAwait(false);
        }

        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        context.Response.StatusCode = StatusCodes.Status200OK;
        // The connection ends with the stream: a client must not pool it for another request.
        context.Response.Headers.Connection = "close";
        await context.Response.StartAsync(context.RequestAborted).ConfigureAwait(false);
        return new DuplexResponseStream(input ?? context.Request.Body, context.Response.Body, connection);
    }

    private static string PathStatHeader(ContainerPathStat stat) =>
        Convert.ToBase64String(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(stat, ApiJsonContext.Default.ContainerPathStat));
}
