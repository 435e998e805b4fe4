using System.Runtime.CompilerServices;
using System.Text.Json;
using Berth.Api.Types;

namespace Berth.Api.Client;

public sealed partial class BerthClient
{
    /// <summary>GET /containers/{id}/stats: each sample as it comes (one after two samples when not streaming).</summary>
    public async IAsyncEnumerable<ContainerStatsResponse> StreamStatsAsync(string id, bool stream, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string path = $"/containers/{Escape(id)}/stats?stream={(stream ? "1" : "0")}";
        using HttpResponseMessage response = await SendAsync(HttpMethod.Get, path, null, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        Stream body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (body.ConfigureAwait(false))
        {
            using var reader = new StreamReader(body);
            while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
            {
                if (line.Length == 0)
                {
                    continue;
                }

                ContainerStatsResponse? sample;
                try
                {
                    sample = JsonSerializer.Deserialize(line, ApiJsonContext.Default.ContainerStatsResponse);
                }
                catch (JsonException e)
                {
                    throw new BerthProtocolException($"the daemon sent invalid stats: {e.Message}", e);
                }

                if (sample is not null)
                {
                    yield return sample;
                }
            }
        }
    }
}
