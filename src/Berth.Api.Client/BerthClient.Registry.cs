using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using Berth.Api.Types;

namespace Berth.Api.Client;

/// <summary>pull, push and login.</summary>
public sealed partial class BerthClient
{
    /// <summary>POST /images/create?fromImage=&amp;tag=&amp;platform=: yields Docker's pull progress messages.</summary>
    public IAsyncEnumerable<ProgressMessage> PullImageAsync(string fromImage, string? tag, string? platform, string? registryAuth, CancellationToken cancellationToken)
    {
        var query = new QueryBuilder();
        query.Add("fromImage", fromImage);
        query.Add("tag", tag);
        query.Add("platform", platform);
        return StreamProgressAsync("/images/create" + query, registryAuth, cancellationToken);
    }

    /// <summary>POST /images/{name}/push?tag=: yields Docker's push progress messages.</summary>
    public IAsyncEnumerable<ProgressMessage> PushImageAsync(string name, string? tag, string? registryAuth, CancellationToken cancellationToken)
    {
        var query = new QueryBuilder();
        query.Add("tag", tag);
        return StreamProgressAsync($"/images/{EscapeImageName(name)}/push" + query, registryAuth, cancellationToken);
    }

    /// <summary>POST /auth: checks credentials against a registry.</summary>
    public async Task<AuthResponse> LoginAsync(AuthConfig auth, CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await SendAsync(HttpMethod.Post, "/auth", JsonBody(auth, ApiJsonContext.Default.AuthConfig), HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        return await ReadJsonAsync(response, ApiJsonContext.Default.AuthResponse, cancellationToken).ConfigureAwait(false);
    }

    private async IAsyncEnumerable<ProgressMessage> StreamProgressAsync(string pathAndQuery, string? registryAuth, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string versioned = await VersionedPathAsync(pathAndQuery, cancellationToken).ConfigureAwait(false);
        using var request = new HttpRequestMessage(HttpMethod.Post, versioned.TrimStart('/'));
        // Docker's header: base64url of the AuthConfig JSON; "e30=" ({}) when anonymous.
        request.Headers.TryAddWithoutValidation("X-Registry-Auth", string.IsNullOrEmpty(registryAuth) ? "e30=" : registryAuth);
        request.Content = new ByteArrayContent([]) { Headers = { ContentType = new MediaTypeHeaderValue("text/plain") } };
        using HttpResponseMessage response = await SendRawAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if ((int)response.StatusCode is < 200 or >= 400)
        {
            throw await ReadApiExceptionAsync(response, versioned, cancellationToken).ConfigureAwait(false);
        }

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

/// <summary>docker search.</summary>
public sealed partial class BerthClient
{
    /// <summary>GET /images/search?term=&amp;limit=&amp;filters=.</summary>
    public Task<IReadOnlyList<ImageSearchResult>> SearchImagesAsync(string term, int? limit, ApiFilters? filters, CancellationToken cancellationToken)
    {
        var query = new QueryBuilder();
        query.Add("term", term);
        query.Add("limit", limit?.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (filters is { IsEmpty: false })
        {
            query.Add("filters", filters.ToJson());
        }

        return GetJsonAsync("/images/search" + query, ApiJsonContext.Default.IReadOnlyListImageSearchResult, cancellationToken);
    }
}
