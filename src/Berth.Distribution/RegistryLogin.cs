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
        using var client = new RegistryClient(endpoint, credentials);
        using HttpResponseMessage response = await client.SendAsync(() => new HttpRequestMessage(HttpMethod.Get, client.Url("/v2/")), "", HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            throw new EngineException(ErrorKind.Forbidden, $"Get \"{endpoint.BaseUri}v2/\": unauthorized: incorrect username or password");
        }

        if (!response.IsSuccessStatusCode)
        {
            throw new EngineException(ErrorKind.Internal, $"login attempt to {endpoint.BaseUri}v2/ failed with status: {(int)response.StatusCode} {response.ReasonPhrase}");
        }
    }
}
