using System.Net;
using System.Net.Http.Headers;
using Berth.Images;
using Berth.Primitives;
using Berth.Storage.Content;

namespace Berth.Distribution;

/// <summary>
/// One blob's download: into the content store's partial for its digest (what an earlier attempt, pull or killed
/// daemon left there is resumed with <c>Range: bytes=N-</c>), retried with backoff when the connection breaks, stalls
/// or the registry answers 5xx, and verified against the digest before it is committed.
/// </summary>
public sealed partial class ImagePuller
{
    // Requests for one blob, whatever answers come back: a source that keeps cutting and ignoring ranges cannot loop.
    private const int MaxRequestsPerBlob = 100;

    private async Task DownloadAsync(RegistryClient client, ImageReference reference, OciDescriptor descriptor, BlobLease lease, SemaphoreSlim gate, IProgress<TransferProgress>? progress, string scope, CancellationToken cancellationToken)
    {
        Digest digest = Digest.Parse(descriptor.Digest);
        lease.Add(digest);
        string id = ShortId(descriptor.Digest);
        if (images.Content.Exists(digest))
        {
            progress?.Report(new TransferProgress(id, "Already exists"));
            return;
        }

        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Another pull of an image sharing this blob may be writing it: this waits for it, then finds it committed.
            await using BlobIngest? ingest = await images.Content.OpenIngestAsync(digest, cancellationToken).ConfigureAwait(false);
            if (ingest is null)
            {
                progress?.Report(new TransferProgress(id, "Already exists"));
                return;
            }

            await ReceiveAsync(client, $"/v2/{reference.Path}/blobs/{digest}", descriptor.Size, ingest, id, progress, scope, cancellationToken).ConfigureAwait(false);
            progress?.Report(new TransferProgress(id, "Verifying Checksum"));
            try
            {
                await ingest.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (EngineException e) when (e.Kind == ErrorKind.InvalidArgument)
            {
                throw EngineException.Invalid($"filesystem layer verification failed for digest {digest}: {e.Message}");
            }

            progress?.Report(new TransferProgress(id, "Download complete"));
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Fills <paramref name="ingest"/> up to <paramref name="size"/> bytes, resuming after each transient failure.</summary>
    private async Task ReceiveAsync(RegistryClient client, string path, long size, BlobIngest ingest, string id, IProgress<TransferProgress>? progress, string scope, CancellationToken cancellationToken)
    {
        long furthest = ingest.Length;
        int failures = 0;
        for (int request = 1; ; request++)
        {
            if (size > 0 && ingest.Length == size)
            {
                return; // all there already: the digest check decides
            }

            if (size > 0 && ingest.Length > size)
            {
                ingest.Restart();
            }

            try
            {
                if (await ReceiveOnceAsync(client, path, size, ingest, id, progress, scope, cancellationToken).ConfigureAwait(false))
                {
                    return;
                }
            }
            catch (Exception e) when (IsTransient(e, cancellationToken))
            {
                // An attempt that got further than any before starts the count again: a flaky link that keeps
                // making progress finishes; one that does not gives up after DownloadAttempts.
                if (ingest.Length > furthest)
                {
                    furthest = ingest.Length;
                    failures = 0;
                }

                failures++;
                if (failures >= options.DownloadAttempts || request >= MaxRequestsPerBlob)
                {
                    throw new EngineException(ErrorKind.Internal, $"error pulling blob {ingest.Expected}: {e.Message} (gave up after {request} attempts, {ingest.Length} of {size} bytes received)", e);
                }

                TimeSpan delay = options.RetryDelay * (1 << Math.Min(failures - 1, 5));
                int seconds = (int)Math.Ceiling(delay.TotalSeconds);
                progress?.Report(new TransferProgress(id, $"Retrying in {seconds} second{(seconds == 1 ? "" : "s")}"));
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (request >= MaxRequestsPerBlob)
            {
                throw new EngineException(ErrorKind.Internal, $"error pulling blob {ingest.Expected}: the registry kept answering with other ranges than asked for");
            }
        }
    }

    /// <summary>
    /// One request: from <see cref="BlobIngest.Length"/> on (a range when there is a start). True when the body ended
    /// whole; false when the source cannot resume (416, or a 206 for another range): the partial is restarted and the
    /// caller asks again from 0. A 200 to a range request is the whole blob: taken from the start.
    /// </summary>
    private async Task<bool> ReceiveOnceAsync(RegistryClient client, string path, long size, BlobIngest ingest, string id, IProgress<TransferProgress>? progress, string scope, CancellationToken cancellationToken)
    {
        long offset = ingest.Length;
        using var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        stall.CancelAfter(options.StallTimeout);
        using HttpResponseMessage response = await client.SendAsync(() =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, client.Url(path));
            if (offset > 0)
            {
                request.Headers.Range = new RangeHeaderValue(offset, null);
            }

            return request;
        }, scope, HttpCompletionOption.ResponseHeadersRead, stall.Token).ConfigureAwait(false);

        if (offset > 0 && response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            ingest.Restart();
            return false;
        }

        if ((int)response.StatusCode >= 500 || response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout)
        {
            string why = await RegistryClient.DescribeErrorAsync(response, stall.Token).ConfigureAwait(false);
            throw new HttpRequestException(why, null, response.StatusCode);
        }

        if (!response.IsSuccessStatusCode)
        {
            string why = await RegistryClient.DescribeErrorAsync(response, cancellationToken).ConfigureAwait(false);
            throw new EngineException(response.StatusCode == HttpStatusCode.NotFound ? ErrorKind.NotFound : ErrorKind.Internal, $"error pulling blob {ingest.Expected}: {why}");
        }

        if (response.StatusCode == HttpStatusCode.PartialContent)
        {
            if (response.Content.Headers.ContentRange?.From != offset)
            {
                ingest.Restart();
                return false;
            }
        }
        else if (offset > 0)
        {
            ingest.Restart(); // the range was ignored: this is the whole blob
        }

        long start = ingest.Length;
        long total = size > 0 ? size : start + (response.Content.Headers.ContentLength ?? 0);
        progress?.Report(new TransferProgress(id, "Downloading") { Current = start, Total = total });
        Stream raw = await response.Content.ReadAsStreamAsync(stall.Token).ConfigureAwait(false);
        await using Stream body = progress is null ? raw
            : new ProgressStream(raw, total - start, done => progress.Report(new TransferProgress(id, "Downloading") { Current = start + done, Total = total }));
        byte[] buffer = new byte[1 << 16];
        int read;
        while ((read = await body.ReadAsync(buffer, stall.Token).ConfigureAwait(false)) > 0)
        {
            stall.CancelAfter(options.StallTimeout);
            if (size > 0 && ingest.Length + read > size)
            {
                ingest.Discard();
                throw EngineException.Invalid($"filesystem layer verification failed for digest {ingest.Expected}: the registry sent more than its {size} bytes");
            }

            await ingest.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
        }

        if (size > 0 && ingest.Length < size)
        {
            throw new IOException($"the blob's response ended after {ingest.Length} of {size} bytes");
        }

        return true;
    }

    /// <summary>What another attempt can cure: a broken or stalled connection, an unreachable registry, a 5xx.</summary>
    private static bool IsTransient(Exception e, CancellationToken cancellationToken) =>
        !cancellationToken.IsCancellationRequested && e switch
        {
            OperationCanceledException or IOException or HttpRequestException => true,
            EngineException { InnerException: HttpRequestException } => true,
            _ => false,
        };
}
