using System.Net;
using Berth.Primitives;

namespace Berth.Distribution;

/// <summary><c>docker login</c>'s check: GET /v2/ with the credentials (through the registry's challenge).</summary>
public static class RegistryLogin
{
    public static async Task CheckAsync(string server, RegistryCredentials credentials, DistributionOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        RegistryEndpoint endpoint = RegistryEndpoint.ForHost(RegistryEndpoint.NormalizeServer(server), options.InsecureRegistries);
        using var client = new RegistryClient(endpoint, credentials, options);
        using HttpResponseMessage response = await client.SendAsync(() => new HttpRequestMessage(HttpMethod.Get, client.Url("/v2/")), "", HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        // A token registry refuses wrong credentials at its token endpoint (RegistryClient says so); a Basic one
        // (htpasswd) answers 401 to the retried request, and dockerd words that as a failed login attempt.
        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            throw new EngineException(ErrorKind.Forbidden, $"login attempt to {client.Endpoint.BaseUri}v2/ failed with status: {(int)response.StatusCode} {response.ReasonPhrase}");
        }

        if (!response.IsSuccessStatusCode)
        {
            throw new EngineException(ErrorKind.Internal, $"login attempt to {client.Endpoint.BaseUri}v2/ failed with status: {(int)response.StatusCode} {response.ReasonPhrase}");
        }
    }
}
