using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;

namespace Berth.Api.Server;

/// <summary>
/// Serves every API version on the same routes: strips the <c>/v1.NN</c> prefix, refuses versions outside
/// [min, max] with Docker's messages, remembers the version for handlers that shape answers by it, and sets
/// the headers every Docker answer carries.
/// </summary>
public sealed partial class ApiVersionMiddleware(RequestDelegate next, ApiServerOptions options)
{
    public const string VersionItem = "berth.api-version";

    public async Task InvokeAsync(HttpContext context)
    {
        context.Response.Headers["Api-Version"] = options.MaxVersion;
        context.Response.Headers["Docker-Experimental"] = "false";
        context.Response.Headers["Ostype"] = "linux";
        context.Response.Headers.Server = $"Berth/{options.EngineVersion} (linux)";
        Version version = Version.Parse(options.MaxVersion);
        string path = context.Request.Path.Value ?? "/";
        Match match = VersionPrefix().Match(path);
        if (match.Success)
        {
            string requested = match.Groups[1].Value;
            if (!Version.TryParse(requested, out Version? asked))
            {
                await ApiErrors.WriteAsync(context, StatusCodes.Status400BadRequest, $"invalid API version: {requested}").ConfigureAwait(false);
                return;
            }

            if (asked > Version.Parse(options.MaxVersion))
            {
                await ApiErrors.WriteAsync(context, StatusCodes.Status400BadRequest, $"client version {requested} is too new. Maximum supported API version is {options.MaxVersion}").ConfigureAwait(false);
                return;
            }

            if (asked < Version.Parse(options.MinVersion))
            {
                await ApiErrors.WriteAsync(context, StatusCodes.Status400BadRequest, $"client version {requested} is too old. Minimum supported API version is {options.MinVersion}, please upgrade your client to a newer version").ConfigureAwait(false);
                return;
            }

            version = asked;
            context.Request.Path = new PathString(path[match.Length..].Length == 0 ? "/" : path[match.Length..]);
        }

        context.Items[VersionItem] = version;
        await next(context).ConfigureAwait(false);
    }

    /// <summary>The API version of this request (the newest when the client named none).</summary>
    public static Version Of(HttpContext context) =>
        context.Items.TryGetValue(VersionItem, out object? value) && value is Version v ? v : new Version(1, 50);

    [GeneratedRegex(@"^/v(\d+\.\d+)(?=/|$)", RegexOptions.CultureInvariant)]
    private static partial Regex VersionPrefix();
}

/// <summary>What the API layer needs to know about the engine it fronts.</summary>
public sealed record ApiServerOptions(string MinVersion, string MaxVersion, string EngineVersion);
