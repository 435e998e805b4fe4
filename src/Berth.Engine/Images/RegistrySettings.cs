using Berth.Distribution;

namespace Berth.Engine.Images;

/// <summary>
/// daemon.json's <c>insecure-registries</c>, <c>registry-mirrors</c>, <c>max-concurrent-downloads</c>,
/// <c>max-concurrent-uploads</c> and <c>max-download-attempts</c>, checked as dockerd checks them.
/// </summary>
public static class RegistrySettings
{
    /// <summary>The settings from daemon.json's keys as the file has them (raw JSON values by key); <see cref="FormatException"/> for a bad one.</summary>
    public static DistributionOptions Parse(IReadOnlyDictionary<string, string> stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        List<string> insecure = Strings(stored, "insecure-registries");
        foreach (string entry in insecure)
        {
            if (entry.Contains("://", StringComparison.Ordinal))
            {
                throw new FormatException($"insecure registry {entry} should not contain '://'");
            }

            if (entry.Contains('/', StringComparison.Ordinal) && !System.Net.IPNetwork.TryParse(entry, out _))
            {
                throw new FormatException($"insecure registry {entry} is not a valid CIDR or host[:port]");
            }
        }

        var mirrors = new List<Uri>();
        foreach (string text in Strings(stored, "registry-mirrors"))
        {
            if (!Uri.TryCreate(text, UriKind.Absolute, out Uri? mirror) || mirror.Scheme is not ("http" or "https"))
            {
                throw new FormatException($"invalid mirror: unsupported scheme \"{text}\" in \"{text}\": must use either 'https://' or 'http://'");
            }

            if (mirror.AbsolutePath.Trim('/').Length > 0 || mirror.Query.Length > 0 || mirror.Fragment.Length > 0)
            {
                throw new FormatException($"invalid mirror: path, query, or fragment at end of the URI \"{text}\"");
            }

            mirrors.Add(mirror);
        }

        var options = new DistributionOptions(insecure) { Mirrors = mirrors };
        // dockerd: negative limits are refused and 0 means no limit; attempts must be at least one.
        int downloads = Integer(stored, "max-concurrent-downloads", options.ParallelDownloads);
        int uploads = Integer(stored, "max-concurrent-uploads", options.ParallelUploads);
        int attempts = Integer(stored, "max-download-attempts", options.DownloadAttempts);
        if (downloads < 0)
        {
            throw new FormatException($"invalid max concurrent downloads: {downloads}");
        }

        if (uploads < 0)
        {
            throw new FormatException($"invalid max concurrent uploads: {uploads}");
        }

        if (attempts <= 0)
        {
            throw new FormatException($"invalid max download attempts: {attempts}");
        }

        return options with { ParallelDownloads = downloads, ParallelUploads = uploads, DownloadAttempts = attempts };
    }

    private static int Integer(IReadOnlyDictionary<string, string> stored, string key, int fallback)
    {
        if (!stored.TryGetValue(key, out string? json))
        {
            return fallback;
        }

        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(json);
            return document.RootElement.GetInt32();
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or FormatException)
        {
            throw new FormatException($"{key} must be an integer", e);
        }
    }

    private static List<string> Strings(IReadOnlyDictionary<string, string> stored, string key)
    {
        if (!stored.TryGetValue(key, out string? json))
        {
            return [];
        }

        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(json);
            return [.. document.RootElement.EnumerateArray().Select(e => e.GetString() ?? throw new FormatException($"{key} must be a list of strings"))];
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException)
        {
            throw new FormatException($"{key} must be a list of strings", e);
        }
    }
}
