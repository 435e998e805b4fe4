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
}

public sealed partial class BerthClient
{
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
        var content = new StreamContent(context, 1 << 16);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-tar");
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
