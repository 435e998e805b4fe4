using System.Net;
using System.Net.Http.Headers;
using Berth.Primitives;

namespace Berth.Distribution;

/// <summary>
/// One blob's upload: a session (started here, or the one a refused mount began), the content streamed in a PATCH,
/// then PUT with the digest. A PATCH whose connection breaks is resumed: the session's status says how much arrived
/// (<c>Range: 0-N</c>) and the next PATCH sends the rest from N+1; a session the registry no longer knows starts over.
/// </summary>
public sealed partial class ImagePusher
{
    /// <summary>How many PATCHes one blob gets in all (the first and its resumptions) before the push fails.</summary>
    internal const int UploadAttempts = 4;

    private async Task SendBlobAsync(RegistryClient client, ImageReference reference, Digest digest, string id, Uri? location, IProgress<TransferProgress>? progress, string scope, CancellationToken cancellationToken)
    {
        long size = new FileInfo(images.Content.PathOf(digest)).Length;
        long offset = 0;
        for (int attempt = 1; ; attempt++)
        {
            Uri session = location ?? await StartUploadAsync(client, reference, scope, cancellationToken).ConfigureAwait(false);
            try
            {
                location = await PatchAsync(client, reference, digest, id, session, offset, size, progress, scope, cancellationToken).ConfigureAwait(false);
                break;
            }
            catch (Exception e) when (attempt < UploadAttempts && IsBrokenUpload(e) && !cancellationToken.IsCancellationRequested)
            {
                (location, offset) = await UploadStatusAsync(client, session, size, scope, cancellationToken).ConfigureAwait(false);
            }
        }

        var put = new UriBuilder(location);
        put.Query = (put.Query.Length > 1 ? put.Query[1..] + "&" : "") + "digest=" + Uri.EscapeDataString(digest.ToString());
        using HttpResponseMessage done = await client.SendAsync(
            () => new HttpRequestMessage(HttpMethod.Put, put.Uri) { Content = new ByteArrayContent([]) { Headers = { ContentType = new MediaTypeHeaderValue("application/octet-stream") } } },
            scope, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        await EnsureAsync(done, reference, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<Uri> StartUploadAsync(RegistryClient client, ImageReference reference, string scope, CancellationToken cancellationToken)
    {
        using HttpResponseMessage started = await client.SendAsync(() => new HttpRequestMessage(HttpMethod.Post, client.Url($"/v2/{reference.Path}/blobs/uploads/")), scope, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        await EnsureAsync(started, reference, cancellationToken).ConfigureAwait(false);
        return LocationOf(client, started);
    }

    /// <summary>Sends bytes <paramref name="offset"/>.. of the blob to the session; returns the session's next location.</summary>
    private async Task<Uri> PatchAsync(RegistryClient client, ImageReference reference, Digest digest, string id, Uri location, long offset, long size, IProgress<TransferProgress>? progress, string scope, CancellationToken cancellationToken)
    {
        if (offset >= size)
        {
            return location;
        }

        using HttpResponseMessage patched = await client.SendAsync(() =>
        {
            Stream blob = images.Content.OpenRead(digest);
            blob.Seek(offset, SeekOrigin.Begin);
            if (progress is not null)
            {
                blob = new ProgressStream(blob, size - offset, done => progress.Report(new TransferProgress(id, "Pushing") { Current = offset + done, Total = size }));
            }

            var content = new StreamContent(blob, 1 << 20);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            content.Headers.ContentLength = size - offset;
            if (offset > 0)
            {
                // Distribution's form (no unit): the chunk must start where the session ends.
                content.Headers.TryAddWithoutValidation("Content-Range", $"{offset}-{size - 1}");
            }

            return new HttpRequestMessage(HttpMethod.Patch, location) { Content = content };
        }, scope, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        if (patched.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable || (int)patched.StatusCode >= 500)
        {
            // The session holds more (or less) than asked about, or is still busy with the broken PATCH's last write:
            // ask where it stands again.
            throw new UploadOutOfStepException();
        }

        await EnsureAsync(patched, reference, cancellationToken).ConfigureAwait(false);
        return patched.Headers.Location is null ? location : LocationOf(client, patched);
    }

    /// <summary>
    /// Where a broken session stands: its URL and how many bytes it holds (<c>Range: 0-N</c> is N+1 bytes), or (null, 0)
    /// to start a new session when it is gone (404), refuses (distribution cancels a session a broken PATCH left at an
    /// offset its state does not record), or holds nothing distinguishable (<c>0-0</c> is either none or one byte).
    /// </summary>
    private static async Task<(Uri? Location, long Offset)> UploadStatusAsync(RegistryClient client, Uri location, long size, string scope, CancellationToken cancellationToken)
    {
        try
        {
            using HttpResponseMessage status = await client.SendAsync(() => new HttpRequestMessage(HttpMethod.Get, location), scope, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
            if (status.StatusCode == HttpStatusCode.NoContent
                && status.Headers.NonValidated.TryGetValues("Range", out HeaderStringValues ranges)
                && ranges.FirstOrDefault() is { } range && range.StartsWith("0-", StringComparison.Ordinal)
                && long.TryParse(range.AsSpan(2), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long end)
                && end > 0 && end < size)
            {
                return (status.Headers.Location is null ? location : LocationOf(client, status), end + 1);
            }
        }
        catch (Exception e) when (IsBrokenUpload(e) && !cancellationToken.IsCancellationRequested)
        {
            // The registry is not answering yet either: the next attempt starts a new session (and reports if it cannot).
        }

        return (null, 0);
    }

    /// <summary>A transfer cut at the connection (reset, closed mid-body) or a session out of step: worth resuming.</summary>
    private static bool IsBrokenUpload(Exception e) =>
        e is UploadOutOfStepException or HttpRequestException or IOException
        || (e is EngineException && e.InnerException is HttpRequestException or IOException);

    private sealed class UploadOutOfStepException() : Exception("upload session out of step");
}
