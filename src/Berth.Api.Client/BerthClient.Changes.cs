using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using Berth.Api.Types;

namespace Berth.Api.Client;

/// <summary>commit, diff, export and import.</summary>
public sealed partial class BerthClient
{
    /// <summary>POST /commit: a new image from a container's changes; returns its id.</summary>
    public async Task<string> CommitContainerAsync(string container, string? repository, string? tag, string? comment, string? author, bool pause, IReadOnlyList<string> changes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(changes);
        var query = new QueryBuilder();
        query.Add("container", container);
        query.Add("repo", repository);
        query.Add("tag", tag);
        query.Add("comment", comment);
        query.Add("author", author);
        query.Add("pause", pause ? "1" : "0");
        foreach (string change in changes)
        {
            query.Add("changes", change);
        }

        using HttpContent body = JsonBody(new ContainerConfig(), ApiJsonContext.Default.ContainerConfig);
        using HttpResponseMessage response = await SendAsync(HttpMethod.Post, "/commit" + query, body, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        return (await ReadJsonAsync(response, ApiJsonContext.Default.IdResponse, cancellationToken).ConfigureAwait(false)).Id;
    }

    /// <summary>GET /containers/{id}/changes.</summary>
    public Task<IReadOnlyList<FilesystemChange>> ContainerChangesAsync(string id, CancellationToken cancellationToken) =>
        GetJsonAsync($"/containers/{Escape(id)}/changes", ApiJsonContext.Default.IReadOnlyListFilesystemChange, cancellationToken);

    /// <summary>GET /containers/{id}/export: copies the container's filesystem tar into <paramref name="destination"/>.</summary>
    public async Task ExportContainerAsync(string id, Stream destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(destination);
        using HttpResponseMessage response = await SendAsync(HttpMethod.Get, $"/containers/{Escape(id)}/export", null, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        Stream body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (body.ConfigureAwait(false))
        {
            await body.CopyToAsync(destination, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>POST /images/create?fromSrc=-: a one-layer image from a filesystem tar; yields the daemon's messages (the last is the id).</summary>
    public async IAsyncEnumerable<ProgressMessage> ImportImageAsync(Stream archive, string? repository, string? tag, string? message, IReadOnlyList<string> changes, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(changes);
        var query = new QueryBuilder();
        query.Add("fromSrc", "-");
        query.Add("repo", repository);
        query.Add("tag", tag);
        query.Add("message", message);
        foreach (string change in changes)
        {
            query.Add("changes", change);
        }

        var content = new StreamContent(archive, 1 << 16);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-tar");
        using HttpResponseMessage response = await SendAsync(HttpMethod.Post, "/images/create" + query, content, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        Stream body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (body.ConfigureAwait(false))
        {
            await foreach (ProgressMessage progress in ReadProgressAsync(body, cancellationToken).ConfigureAwait(false))
            {
                yield return progress;
            }
        }
    }
}

/// <summary>The archive API behind <c>cp</c>.</summary>
public sealed partial class BerthClient
{
    /// <summary>HEAD /containers/{id}/archive: the path's stat, or null when it does not exist.</summary>
    public async Task<ContainerPathStat?> StatContainerPathAsync(string id, string path, CancellationToken cancellationToken)
    {
        var query = new QueryBuilder();
        query.Add("path", path);
        try
        {
            using HttpResponseMessage response = await SendAsync(HttpMethod.Head, $"/containers/{Escape(id)}/archive{query}", null, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            return DecodePathStat(response);
        }
        catch (BerthApiException e) when (e.IsNotFound && !e.Message.Contains("No such container", StringComparison.Ordinal))
        {
            return null;
        }
    }

    /// <summary>GET /containers/{id}/archive: the path's stat and its tar, copied into <paramref name="destination"/> by <paramref name="copy"/>.</summary>
    public async Task GetContainerArchiveAsync(string id, string path, Func<ContainerPathStat?, Stream, CancellationToken, Task> copy, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(copy);
        var query = new QueryBuilder();
        query.Add("path", path);
        using HttpResponseMessage response = await SendAsync(HttpMethod.Get, $"/containers/{Escape(id)}/archive{query}", null, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        Stream body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (body.ConfigureAwait(false))
        {
            await copy(DecodePathStat(response), body, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>PUT /containers/{id}/archive: unpacks <paramref name="archive"/> (a tar) into the container directory <paramref name="path"/>.</summary>
    public async Task PutContainerArchiveAsync(string id, string path, Stream archive, bool copyOwnership, CancellationToken cancellationToken)
    {
        var query = new QueryBuilder();
        query.Add("path", path);
        query.Add("noOverwriteDirNonDir", "true");
        query.AddFlag("copyUIDGID", copyOwnership);
        var content = new StreamContent(archive, 1 << 16);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-tar");
        using HttpResponseMessage response = await SendAsync(HttpMethod.Put, $"/containers/{Escape(id)}/archive{query}", content, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
    }

    private static ContainerPathStat? DecodePathStat(HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues("X-Docker-Container-Path-Stat", out IEnumerable<string>? values))
        {
            return null;
        }

        byte[] json = Convert.FromBase64String(values.First());
        return System.Text.Json.JsonSerializer.Deserialize(json, ApiJsonContext.Default.ContainerPathStat);
    }
}
