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
        using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: false, bufferSize: 4096, leaveOpen: true);
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is string line)
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            ProgressMessage? message;
            try
            {
                message = JsonSerializer.Deserialize(line, ApiJsonContext.Default.ProgressMessage);
            }
            catch (JsonException e)
            {
                throw new BerthProtocolException($"the daemon sent an invalid progress message: {e.Message}", e);
            }

            if (message is not null)
            {
                yield return message;
            }
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
