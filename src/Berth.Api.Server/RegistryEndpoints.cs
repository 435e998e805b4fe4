using System.Text;
using System.Text.Json;
using Berth.Api.Types;
using Berth.Engine.Images;
using Berth.Primitives;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Berth.Api.Server;

/// <summary>Pull (POST /images/create?fromImage=), push (POST /images/{name}/push) and POST /auth.</summary>
public static class RegistryEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/auth", async (HttpContext context, IRegistryBackend registry) =>
        {
            AuthConfig auth = await JsonSerializer.DeserializeAsync(context.Request.Body, ApiJsonContext.Default.AuthConfig, context.RequestAborted).ConfigureAwait(false)
                ?? throw EngineException.Invalid("invalid auth configuration");
            await registry.LoginAsync(auth, context.RequestAborted).ConfigureAwait(false);
            return Results.Json(new AuthResponse { Status = "Login Succeeded" }, ApiJsonContext.Default.AuthResponse);
        });

        app.MapGet("/images/search", async (HttpContext context, IRegistryBackend registry) =>
        {
            string limitText = context.Request.Query["limit"].ToString();
            int? limit = limitText.Length == 0 ? null
                : int.TryParse(limitText, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int n) ? n
                : throw EngineException.Invalid($"invalid limit: {limitText}");
            IReadOnlyList<ImageSearchResult> results = await registry.SearchAsync(context.Request.Query["term"].ToString(), limit, Query.Filters(context.Request), RegistryAuth(context.Request), context.RequestAborted).ConfigureAwait(false);
            return Results.Json(results, ApiJsonContext.Default.IReadOnlyListImageSearchResult);
        });
    }

    /// <summary>POST /images/create?fromImage=NAME&amp;tag=TAG&amp;platform=P: streams Docker's pull progress.</summary>
    public static Task PullAsync(HttpContext context)
    {
        IRegistryBackend registry = context.RequestServices.GetRequiredService<IRegistryBackend>();
        IQueryCollection query = context.Request.Query;
        return StreamAsync(context, progress => registry.PullAsync(query["fromImage"].ToString(), query["tag"].ToString(), query["platform"].ToString(), RegistryAuth(context.Request), progress, context.RequestAborted));
    }

    /// <summary>POST /images/{name}/push?tag=TAG: streams Docker's push progress.</summary>
    public static Task PushAsync(HttpContext context, string name)
    {
        IRegistryBackend registry = context.RequestServices.GetRequiredService<IRegistryBackend>();
        return StreamAsync(context, progress => registry.PushAsync(name, context.Request.Query["tag"].ToString(), RegistryAuth(context.Request), progress, context.RequestAborted));
    }

    /// <summary>
    /// Runs an operation that reports progress. An error before the first message is an ordinary error response
    /// (the docker CLI prints "Error response from daemon: ..."); after it, an error message in the stream.
    /// </summary>
    private static async Task StreamAsync(HttpContext context, Func<IProgress<ProgressMessage>, Task> operation)
    {
        var stream = new MessageStream(context.Response);
        try
        {
            await operation(stream).ConfigureAwait(false);
            await stream.DrainAsync().ConfigureAwait(false);
        }
        catch (EngineException e) when (stream.Started)
        {
            await stream.DrainAsync().ConfigureAwait(false);
            stream.Report(new ProgressMessage { Error = e.Message, ErrorDetail = new ErrorResponse { Message = e.Message } });
            await stream.DrainAsync().ConfigureAwait(false);
        }
    }

    /// <summary>X-Registry-Auth: base64url of Docker's AuthConfig JSON (empty or "{}" is anonymous).</summary>
    private static AuthConfig? RegistryAuth(HttpRequest request)
    {
        string header = request.Headers["X-Registry-Auth"].ToString();
        if (string.IsNullOrWhiteSpace(header))
        {
            return null;
        }

        try
        {
            string base64 = header.Replace('-', '+').Replace('_', '/');
            base64 = base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '=');
            return JsonSerializer.Deserialize(Encoding.UTF8.GetString(Convert.FromBase64String(base64)), ApiJsonContext.Default.AuthConfig);
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            throw EngineException.Invalid($"invalid X-Registry-Auth header: {e.Message}");
        }
    }

    /// <summary>Progress messages as newline-delimited JSON, in report order, flushed each; the response starts with the first.</summary>
    private sealed class MessageStream(HttpResponse response) : IProgress<ProgressMessage>
    {
        private readonly Lock _lock = new();
        private Task _last = Task.CompletedTask;

        public bool Started { get; private set; }

        public void Report(ProgressMessage value)
        {
            lock (_lock)
            {
                if (!Started)
                {
                    Started = true;
                    response.StatusCode = StatusCodes.Status200OK;
                    response.ContentType = "application/json";
                }

                _last = WriteAfterAsync(_last, value);
            }
        }

        public Task DrainAsync()
        {
            lock (_lock)
            {
                return _last;
            }
        }

        private async Task WriteAfterAsync(Task previous, ProgressMessage message)
        {
            await previous.ConfigureAwait(false);
            await JsonLines.WriteAsync(response.Body, message, ApiJsonContext.Default.ProgressMessage, CancellationToken.None, crlf: true).ConfigureAwait(false);
        }
    }
}
