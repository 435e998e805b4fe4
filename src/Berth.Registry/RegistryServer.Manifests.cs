using System.Text.Json;
using Berth.Primitives;
using Microsoft.AspNetCore.Http;

namespace Berth.Registry;

/// <summary>Manifests by tag or digest: HEAD, GET, PUT (checked: its blobs must be here), DELETE when enabled.</summary>
public static partial class RegistryServer
{
    private static readonly string[] ManifestTypes =
    [
        "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json", "application/vnd.docker.distribution.manifest.list.v2+json",
    ];

    private static async Task ManifestAsync(RegistryStorage storage, ServerSettings settings, HttpContext context, string name, string reference)
    {
        CheckName(name);
        HttpRequest request = context.Request;
        HttpResponse response = context.Response;
        CancellationToken cancellationToken = context.RequestAborted;
        bool byDigest = Digest.TryParse(reference, out Digest referenceDigest);
        if (!byDigest && !RegistryStorage.IsValidTag(reference))
        {
            throw new RegistryError(400, "TAG_INVALID", "manifest tag did not match URI", reference);
        }

        switch (request.Method)
        {
            case "GET" or "HEAD":
            {
                StoredManifest manifest = await storage.GetManifestAsync(name, reference, cancellationToken).ConfigureAwait(false)
                    ?? throw new RegistryError(404, "MANIFEST_UNKNOWN", "manifest unknown", $"unknown tag={reference}");
                response.ContentType = manifest.MediaType;
                response.ContentLength = manifest.Content.Length;
                response.Headers[DigestHeader] = manifest.Digest.ToString();
                response.Headers.ETag = "\"" + manifest.Digest + "\"";
                if (request.Method == "GET")
                {
                    await response.Body.WriteAsync(manifest.Content, cancellationToken).ConfigureAwait(false);
                }

                return;
            }

            case "PUT":
            {
                using var buffer = new MemoryStream();
                await request.Body.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
                byte[] content = buffer.ToArray();
                string mediaType = CheckManifest(storage, name, content, request.ContentType);
                Digest digest;
                try
                {
                    digest = await storage.PutManifestAsync(name, reference, content, mediaType, cancellationToken).ConfigureAwait(false);
                }
                catch (EngineException e) when (e.Kind == ErrorKind.InvalidArgument)
                {
                    throw new RegistryError(400, "DIGEST_INVALID", "provided digest did not match uploaded content", e.Message);
                }

                response.StatusCode = 201;
                response.Headers.Location = $"/v2/{name}/manifests/{digest}";
                response.Headers[DigestHeader] = digest.ToString();
                response.ContentLength = 0;
                return;
            }

            case "DELETE":
                // As distribution: deleting is off unless the registry was started with it (storage.delete.enabled).
                if (!settings.DeleteEnabled)
                {
                    throw new RegistryError(405, "UNSUPPORTED", "The operation is unsupported.", null);
                }

                if (!byDigest)
                {
                    throw new RegistryError(400, "UNSUPPORTED", "The operation is unsupported.", "delete by digest");
                }

                if (!storage.DeleteManifest(name, referenceDigest))
                {
                    throw new RegistryError(404, "MANIFEST_UNKNOWN", "manifest unknown", reference);
                }

                response.StatusCode = 202;
                response.ContentLength = 0;
                return;
            default:
                throw new RegistryError(405, "UNSUPPORTED", "The operation is unsupported.", null);
        }
    }

    /// <summary>Parses a pushed manifest, checks that what it references is here, and returns its media type.</summary>
    private static string CheckManifest(RegistryStorage storage, string name, byte[] content, string? contentType)
    {
        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(content);
            root = document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new RegistryError(400, "MANIFEST_INVALID", "manifest invalid", e.Message);
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new RegistryError(400, "MANIFEST_INVALID", "manifest invalid", "not a JSON object");
        }

        string? declared = root.TryGetProperty("mediaType", out JsonElement mt) && mt.ValueKind == JsonValueKind.String ? mt.GetString() : null;
        string? header = contentType?.Split(';')[0].Trim();
        string mediaType = declared ?? (header is { Length: > 0 } && header != "application/json" ? header
            : root.TryGetProperty("manifests", out _) ? ManifestTypes[1] : ManifestTypes[0]);
        if (!ManifestTypes.Contains(mediaType, StringComparer.Ordinal))
        {
            throw new RegistryError(400, "MANIFEST_INVALID", "manifest invalid", $"unsupported media type {mediaType}");
        }

        if (root.TryGetProperty("manifests", out JsonElement manifests) && manifests.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement child in manifests.EnumerateArray())
            {
                Digest digest = DescriptorDigest(child);
                if (!storage.BlobExists(digest))
                {
                    throw new RegistryError(400, "MANIFEST_BLOB_UNKNOWN", "manifest blob unknown to registry", digest.ToString());
                }
            }

            return mediaType;
        }

        IEnumerable<JsonElement> descriptors = root.TryGetProperty("layers", out JsonElement layers) && layers.ValueKind == JsonValueKind.Array ? layers.EnumerateArray() : [];
        if (root.TryGetProperty("config", out JsonElement config))
        {
            descriptors = descriptors.Prepend(config);
        }

        foreach (JsonElement descriptor in descriptors)
        {
            // Foreign layers (Windows base images) live elsewhere by design.
            if (descriptor.TryGetProperty("urls", out _))
            {
                continue;
            }

            Digest digest = DescriptorDigest(descriptor);
            if (!storage.BlobExists(digest))
            {
                throw new RegistryError(400, "MANIFEST_BLOB_UNKNOWN", "manifest blob unknown to registry", digest.ToString());
            }
        }

        return mediaType;
    }

    private static Digest DescriptorDigest(JsonElement descriptor) =>
        descriptor.ValueKind == JsonValueKind.Object && descriptor.TryGetProperty("digest", out JsonElement d) && Digest.TryParse(d.GetString(), out Digest digest)
            ? digest
            : throw new RegistryError(400, "MANIFEST_INVALID", "manifest invalid", "a descriptor has no valid digest");
}
