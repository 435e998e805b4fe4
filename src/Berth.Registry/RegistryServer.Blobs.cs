using System.Text.RegularExpressions;
using Berth.Primitives;
using Microsoft.AspNetCore.Http;

namespace Berth.Registry;

/// <summary>Blobs: HEAD, GET (whole or a byte range, for resumed downloads); DELETE refused (blobs go with garbage collection).</summary>
public static partial class RegistryServer
{
    private static async Task BlobAsync(RegistryStorage storage, HttpContext context, string name, string digestText)
    {
        CheckName(name);
        Digest digest = ParseDigest(digestText);
        HttpResponse response = context.Response;
        string method = context.Request.Method;
        if (method is not ("GET" or "HEAD" or "DELETE"))
        {
            throw new RegistryError(405, "UNSUPPORTED", "The operation is unsupported.", null);
        }

        if (!storage.BlobExists(digest))
        {
            throw new RegistryError(404, "BLOB_UNKNOWN", "blob unknown to registry", digest.ToString());
        }

        if (method == "DELETE")
        {
            // Blobs are shared by every repository (content addressed); they go with garbage collection, not here.
            throw new RegistryError(405, "UNSUPPORTED", "The operation is unsupported.", null);
        }

        long size = storage.BlobSize(digest);
        response.Headers[DigestHeader] = digest.ToString();
        response.Headers.ETag = "\"" + digest + "\"";
        response.Headers.AcceptRanges = "bytes";
        response.ContentType = "application/octet-stream";
        if (method == "HEAD")
        {
            response.ContentLength = size;
            return;
        }

        await using Stream blob = storage.OpenBlob(digest);
        long start = 0;
        long end = size - 1;
        // A resumed download asks for the rest: Range: bytes=N- (or N-M).
        if (RangePattern().Match(context.Request.Headers.Range.ToString()) is { Success: true } range && size > 0)
        {
            start = long.Parse(range.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            if (range.Groups[2].Success)
            {
                end = Math.Min(end, long.Parse(range.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));
            }

            if (start > end)
            {
                response.StatusCode = 416;
                response.Headers.ContentRange = $"bytes */{size}";
                return;
            }

            response.StatusCode = 206;
            response.Headers.ContentRange = $"bytes {start}-{end}/{size}";
            blob.Seek(start, SeekOrigin.Begin);
        }

        response.ContentLength = end - start + 1;
        await CopyAsync(blob, response.Body, end - start + 1, context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task CopyAsync(Stream source, Stream target, long count, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[1 << 16];
        while (count > 0)
        {
            int read = await source.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, count)), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
            count -= read;
        }
    }

    [GeneratedRegex(@"^bytes=(\d+)-(\d+)?\z")]
    private static partial Regex RangePattern();
}
