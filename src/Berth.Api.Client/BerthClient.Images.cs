using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Berth.Api.Types;

namespace Berth.Api.Client;

public sealed partial class BerthClient
{
    /// <summary>GET /images/json.</summary>
    public Task<IReadOnlyList<ImageSummary>> ListImagesAsync(ImageListOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var query = new QueryBuilder();
        query.AddFlag("all", options.All);
        query.AddFlag("digests", options.Digests);
        if (options.Filters is { IsEmpty: false } filters)
        {
            query.Add("filters", filters.ToJson());
        }

        return GetJsonAsync("/images/json" + query, ApiJsonContext.Default.IReadOnlyListImageSummary, cancellationToken);
    }

    /// <summary>GET /images/{name}/json as the daemon sent it.</summary>
    public Task<JsonDocument> InspectImageJsonAsync(string name, CancellationToken cancellationToken) =>
        GetJsonDocumentAsync($"/images/{EscapeImageName(name)}/json", cancellationToken);

    /// <summary>DELETE /images/{name}: what was untagged and deleted.</summary>
    public Task<IReadOnlyList<ImageDeleteResponseItem>> RemoveImageAsync(string name, bool force, bool noPrune, CancellationToken cancellationToken)
    {
        var query = new QueryBuilder();
        query.AddFlag("force", force);
        query.AddFlag("noprune", noPrune);
        return DeleteJsonAsync($"/images/{EscapeImageName(name)}{query}", cancellationToken);
    }

    /// <summary>POST /images/{name}/tag?repo=&amp;tag=.</summary>
    public async Task TagImageAsync(string name, string repository, string? tag, CancellationToken cancellationToken)
    {
        var query = new QueryBuilder();
        query.Add("repo", repository);
        query.Add("tag", tag);
        using HttpResponseMessage response = await SendAsync(HttpMethod.Post, $"/images/{EscapeImageName(name)}/tag{query}", null, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>GET /images/{name}/history, newest first.</summary>
    public Task<IReadOnlyList<HistoryResponseItem>> ImageHistoryAsync(string name, CancellationToken cancellationToken) =>
        GetJsonAsync($"/images/{EscapeImageName(name)}/history", ApiJsonContext.Default.IReadOnlyListHistoryResponseItem, cancellationToken);

    /// <summary>GET /images/get?names=...: copies the docker-archive tar into <paramref name="destination"/>.</summary>
    public async Task SaveImagesAsync(IReadOnlyList<string> names, Stream destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(names);
        ArgumentNullException.ThrowIfNull(destination);
        var query = new QueryBuilder();
        foreach (string name in names)
        {
            query.Add("names", name);
        }

        using HttpResponseMessage response = await SendAsync(HttpMethod.Get, "/images/get" + query, null, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        Stream body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (body.ConfigureAwait(false))
        {
            // 1 MiB pieces: a save is hundreds of MB, and each read/write pair is two system calls.
            await body.CopyToAsync(destination, 1 << 20, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>POST /images/load: sends a tar (plain or compressed) and yields the daemon's progress messages.</summary>
    public async IAsyncEnumerable<ProgressMessage> LoadImagesAsync(Stream archive, bool quiet, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var query = new QueryBuilder();
        query.AddFlag("quiet", quiet);
        var content = new StreamContent(archive, 1 << 16);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-tar");
        using HttpResponseMessage response = await SendAsync(HttpMethod.Post, "/images/load" + query, content, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        Stream body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (body.ConfigureAwait(false))
        {
            await foreach (ProgressMessage message in ReadProgressAsync(body, cancellationToken).ConfigureAwait(false))
            {
                yield return message;
            }
        }
    }

    /// <summary>POST /images/prune.</summary>
    public async Task<ImagePruneResponse> PruneImagesAsync(ApiFilters? filters, CancellationToken cancellationToken)
    {
        var query = new QueryBuilder();
        if (filters is { IsEmpty: false })
        {
            query.Add("filters", filters.ToJson());
        }

        using HttpResponseMessage response = await SendAsync(HttpMethod.Post, "/images/prune" + query, null, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        return await ReadJsonAsync(response, ApiJsonContext.Default.ImagePruneResponse, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Berth's POST /berth/images/bootstrap?name=NAME: builds a base image from what the host has
    /// (busybox for now) and reports progress as a JSON-lines stream. A message with
    /// <see cref="ProgressMessage.Error"/> means the operation failed; the caller decides how to show it.
    /// </summary>
    public async IAsyncEnumerable<ProgressMessage> BootstrapImageAsync(string name, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var query = new QueryBuilder();
        query.Add("name", name);
        using HttpResponseMessage response = await SendAsync(HttpMethod.Post, "/berth/images/bootstrap" + query, null, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        Stream body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (body.ConfigureAwait(false))
        {
            await foreach (ProgressMessage message in ReadProgressAsync(body, cancellationToken).ConfigureAwait(false))
            {
                yield return message;
            }
        }
    }

    /// <summary>
    /// Reads a JSON progress stream (one object per line, as pull, push, load, build and bootstrap send)
    /// and yields each message as soon as its line is complete.
    /// </summary>
    public static async IAsyncEnumerable<ProgressMessage> ReadProgressAsync(Stream stream, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        // Messages end at '\n' (the build stream's "\r\n" too: the '\r' is JSON whitespace). Not StreamReader.ReadLine:
        // when a read ends right after a '\r' it reads on to see whether a '\n' follows, and while a build step runs
        // the next bytes may be minutes away, so the line already received would wait for them.
        byte[] buffer = new byte[1 << 14];
        int start = 0, end = 0;
        while (true)
        {
            int lineEnd = Array.IndexOf(buffer, (byte)'\n', start, end - start);
            if (lineEnd < 0)
            {
                if (start > 0)
                {
                    Buffer.BlockCopy(buffer, start, buffer, 0, end - start);
                    end -= start;
                    start = 0;
                }

                if (end == buffer.Length)
                {
                    Array.Resize(ref buffer, buffer.Length * 2); // a message longer than the buffer
                }

                int read = await stream.ReadAsync(buffer.AsMemory(end), cancellationToken).ConfigureAwait(false);
                if (read > 0)
                {
                    end += read;
                    continue;
                }

                if (start == end)
                {
                    yield break;
                }

                lineEnd = end; // the last message, without its newline
            }

            ProgressMessage? message = ParseProgress(buffer.AsSpan(start, lineEnd - start));
            start = lineEnd == end ? end : lineEnd + 1;
            if (message is not null)
            {
                yield return message;
            }
        }
    }

    /// <summary>One message of a progress stream; null for a blank line.</summary>
    private static ProgressMessage? ParseProgress(ReadOnlySpan<byte> line)
    {
        if (line.Trim(" \t\r"u8).IsEmpty)
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(line, ApiJsonContext.Default.ProgressMessage);
        }
        catch (JsonException e)
        {
            throw new BerthProtocolException($"the daemon sent an invalid progress message: {e.Message}", e);
        }
    }

    /// <summary>Image names keep their '/' and ':' readable in the path (the daemon routes on the whole rest).</summary>
    private static string EscapeImageName(string name) =>
        string.Join('/', name.Split('/').Select(Uri.EscapeDataString)).Replace("%3A", ":", StringComparison.Ordinal).Replace("%40", "@", StringComparison.Ordinal);

    private async Task<IReadOnlyList<ImageDeleteResponseItem>> DeleteJsonAsync(string pathAndQuery, CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await SendAsync(HttpMethod.Delete, pathAndQuery, null, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        return await ReadJsonAsync(response, ApiJsonContext.Default.IReadOnlyListImageDeleteResponseItem, cancellationToken).ConfigureAwait(false);
    }
}
