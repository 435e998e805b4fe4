using System.Runtime.CompilerServices;
using System.Text.Json;
using Berth.Api.Types;

namespace Berth.Api.Client;

/// <summary>What <c>build</c> asks the daemon for (the query parameters of POST /build).</summary>
public sealed record BuildImageOptions
{
    public IReadOnlyList<string> Tags { get; init; } = [];
    public string? Dockerfile { get; init; }
    public Dictionary<string, string> BuildArgs { get; init; } = [];
    public Dictionary<string, string> Labels { get; init; } = [];
    public bool NoCache { get; init; }
    public string? Target { get; init; }
    public bool Quiet { get; init; }
    public string? NetworkMode { get; init; }
    public IReadOnlyList<string> ExtraHosts { get; init; } = [];
    public IReadOnlyList<string> CacheFrom { get; init; } = [];
    public bool Pull { get; init; }

    /// <summary>Secret id → contents, for <c>RUN --mount=type=secret</c>; sent in a header, never in the context.</summary>
    public Dictionary<string, byte[]> Secrets { get; init; } = [];
}

public sealed partial class BerthClient
{
    /// <summary>POST /build/prune.</summary>
    public async Task<BuildCachePruneResponse> PruneBuildCacheAsync(bool all, CancellationToken cancellationToken)
    {
        var query = new QueryBuilder();
        query.AddFlag("all", all);
        using HttpResponseMessage response = await SendAsync(HttpMethod.Post, "/build/prune" + query, null, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        return await ReadJsonAsync(response, ApiJsonContext.Default.BuildCachePruneResponse, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>POST /build: sends the context tar and yields the classic builder's messages.</summary>
    public async IAsyncEnumerable<ProgressMessage> BuildImageAsync(Stream context, BuildImageOptions options, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var query = new QueryBuilder();
        foreach (string tag in options.Tags)
        {
            query.Add("t", tag);
        }

        query.Add("dockerfile", options.Dockerfile);
        if (options.BuildArgs.Count > 0)
        {
            query.Add("buildargs", JsonSerializer.Serialize(options.BuildArgs, ApiJsonContext.Default.DictionaryStringString));
        }

        if (options.Labels.Count > 0)
        {
            query.Add("labels", JsonSerializer.Serialize(options.Labels, ApiJsonContext.Default.DictionaryStringString));
        }

        query.AddFlag("nocache", options.NoCache);
        query.Add("target", options.Target);
        query.AddFlag("q", options.Quiet);
        query.Add("networkmode", options.NetworkMode);
        if (options.ExtraHosts.Count > 0)
        {
            query.Add("extrahosts", string.Join(',', options.ExtraHosts));
        }

        if (options.CacheFrom.Count > 0)
        {
            query.Add("cachefrom", "[" + string.Join(',', options.CacheFrom.Select(c => JsonSerializer.Serialize(c, ApiJsonContext.Default.String))) + "]");
        }

        query.AddFlag("pull", options.Pull);
        var content = new StreamContent(context, 1 << 16);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-tar");
        if (options.Secrets.Count > 0)
        {
            var encoded = options.Secrets.ToDictionary(s => s.Key, s => Convert.ToBase64String(s.Value), StringComparer.Ordinal);
            content.Headers.TryAddWithoutValidation("X-Berth-Build-Secrets", Convert.ToBase64String(JsonSerializer.SerializeToUtf8Bytes(encoded, ApiJsonContext.Default.DictionaryStringString)));
        }
        using HttpResponseMessage response = await SendAsync(HttpMethod.Post, "/build" + query, content, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        Stream body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (body.ConfigureAwait(false))
        {
            await foreach (ProgressMessage message in ReadProgressAsync(body, cancellationToken).ConfigureAwait(false))
            {
                yield return message;
            }
        }
    }
}
