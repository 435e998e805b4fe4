using System.Text.RegularExpressions;
using Berth.Primitives;
using Microsoft.AspNetCore.Http;

namespace Berth.Registry;

/// <summary>Uploads: POST (monolithic, started, or a cross-repository mount), PATCH chunks in order, GET status, PUT to finish, DELETE to cancel.</summary>
public static partial class RegistryServer
{
    private static async Task UploadAsync(RegistryStorage storage, HttpContext context, string name, string? id)
    {
        CheckName(name);
        HttpRequest request = context.Request;
        HttpResponse response = context.Response;
        CancellationToken cancellationToken = context.RequestAborted;
        string method = request.Method;
        if (id is null)
        {
            if (method != "POST")
            {
                throw new RegistryError(405, "UNSUPPORTED", "The operation is unsupported.", null);
            }

            // Cross-repository mount: blobs are content addressed and shared, so a known blob is there already.
            if (request.Query["mount"].ToString() is { Length: > 0 } mount)
            {
                Digest mounted = ParseDigest(mount);
                if (storage.BlobExists(mounted))
                {
                    BlobCreated(response, name, mounted);
                    return;
                }
            }

            string started = storage.StartUpload();
            if (request.Query["digest"].ToString() is { Length: > 0 } single)
            {
                // Monolithic upload in one POST.
                await storage.AppendAsync(started, request.Body, cancellationToken).ConfigureAwait(false);
                await CompleteAsync(storage, response, name, started, single, cancellationToken).ConfigureAwait(false);
                return;
            }

            UploadAccepted(response, name, started, 0, 202);
            return;
        }

        if (!storage.UploadExists(id))
        {
            throw new RegistryError(404, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry", id);
        }

        switch (method)
        {
            case "GET":
                UploadAccepted(response, name, id, storage.UploadSize(id), 204);
                return;
            case "DELETE":
                storage.CancelUpload(id);
                response.StatusCode = 204;
                return;
            case "PATCH":
            {
                long current = storage.UploadSize(id);
                // Chunks must arrive in order: Content-Range (when given) must start where the upload ends.
                if (ContentRangePattern().Match(request.Headers.ContentRange.ToString()) is { Success: true } chunkRange
                    && long.Parse(chunkRange.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) != current)
                {
                    response.Headers.Location = $"/v2/{name}/blobs/uploads/{id}";
                    response.Headers.Range = $"0-{current - 1}";
                    throw new RegistryError(416, "BLOB_UPLOAD_INVALID", "blob upload invalid", "chunk out of order");
                }

                long size = await storage.AppendAsync(id, request.Body, cancellationToken).ConfigureAwait(false);
                UploadAccepted(response, name, id, size, 202);
                return;
            }

            case "PUT":
                await storage.AppendAsync(id, request.Body, cancellationToken).ConfigureAwait(false);
                await CompleteAsync(storage, response, name, id, request.Query["digest"].ToString(), cancellationToken).ConfigureAwait(false);
                return;
            default:
                throw new RegistryError(405, "UNSUPPORTED", "The operation is unsupported.", null);
        }
    }

    private static async Task CompleteAsync(RegistryStorage storage, HttpResponse response, string name, string id, string digestText, CancellationToken cancellationToken)
    {
        if (!Digest.TryParse(digestText, out Digest expected) || expected.Algorithm != "sha256")
        {
            storage.CancelUpload(id);
            throw new RegistryError(400, "DIGEST_INVALID", "provided digest did not match uploaded content", digestText);
        }

        try
        {
            await storage.CompleteAsync(id, expected, cancellationToken).ConfigureAwait(false);
        }
        catch (EngineException e) when (e.Kind == ErrorKind.InvalidArgument)
        {
            throw new RegistryError(400, "DIGEST_INVALID", "provided digest did not match uploaded content", e.Message);
        }

        BlobCreated(response, name, expected);
    }

    private static void BlobCreated(HttpResponse response, string name, Digest digest)
    {
        response.StatusCode = 201;
        response.Headers.Location = $"/v2/{name}/blobs/{digest}";
        response.Headers[DigestHeader] = digest.ToString();
        response.ContentLength = 0;
    }

    private static void UploadAccepted(HttpResponse response, string name, string id, long size, int status)
    {
        response.StatusCode = status;
        response.Headers.Location = $"/v2/{name}/blobs/uploads/{id}";
        response.Headers["Docker-Upload-UUID"] = id;
        response.Headers.Range = $"0-{Math.Max(0, size - 1)}";
        response.ContentLength = 0;
    }

    [GeneratedRegex(@"^(?:bytes )?(\d+)-(\d+)")]
    private static partial Regex ContentRangePattern();
}
