using System.Text.Json;
using Berth.Api.Types;
using Berth.Primitives;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Berth.Api.Server;

/// <summary>The one place where engine errors become HTTP: each <see cref="ErrorKind"/> has one status, and every error body is <c>{"message": ...}</c>.</summary>
public sealed partial class ApiErrors(RequestDelegate next, ILogger<ApiErrors> logger)
{
    public static int StatusOf(ErrorKind kind) => kind switch
    {
        ErrorKind.InvalidArgument => StatusCodes.Status400BadRequest,
        ErrorKind.NotFound => StatusCodes.Status404NotFound,
        ErrorKind.Conflict => StatusCodes.Status409Conflict,
        ErrorKind.NotImplemented => StatusCodes.Status501NotImplemented,
        ErrorKind.Forbidden => StatusCodes.Status403Forbidden,
        _ => StatusCodes.Status500InternalServerError,
    };

    public async Task InvokeAsync(HttpContext context)
    {
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (EngineException e)
        {
            await FailAsync(context, StatusOf(e.Kind), e.Message).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            await FailAsync(context, StatusCodes.Status400BadRequest, $"invalid JSON: {e.Message}").ConfigureAwait(false);
        }
        catch (BadHttpRequestException e)
        {
            await FailAsync(context, e.StatusCode, e.Message).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nobody is left to answer.
        }
        catch (Exception e)
        {
            LogUnhandled(context.Request.Method, context.Request.Path, e);
            await FailAsync(context, StatusCodes.Status500InternalServerError, e.Message).ConfigureAwait(false);
        }
        finally
        {
            if (logger.IsEnabled(LogLevel.Debug))
            {
                double milliseconds = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                string target = context.Request.Path + context.Request.QueryString;
                LogRequest(context.Request.Method, target, context.Response.StatusCode, milliseconds);
            }
        }
    }

    private static async Task FailAsync(HttpContext context, int status, string message)
    {
        if (context.Response.HasStarted)
        {
            return; // a stream was already under way: closing it is all that is left
        }

        await WriteAsync(context, status, message).ConfigureAwait(false);
    }

    public static async Task WriteAsync(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(context.Response.Body, new ErrorResponse { Message = message }, ApiJsonContext.Default.ErrorResponse, context.RequestAborted).ConfigureAwait(false);
        await context.Response.Body.WriteAsync("\n"u8.ToArray(), context.RequestAborted).ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "{Method} {Path} -> {Status} in {Milliseconds:F1} ms")]
    private partial void LogRequest(string method, string path, int status, double milliseconds);

    [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "{Method} {Path} failed")]
    private partial void LogUnhandled(string method, string path, Exception exception);
}
