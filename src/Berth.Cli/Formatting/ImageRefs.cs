namespace Berth.Cli;

/// <summary>Docker's "familiar" image reference forms (<c>busybox:latest</c> rather than <c>docker.io/library/busybox:latest</c>).</summary>
internal static class ImageRefs
{
    /// <summary>Drops the default registry and <c>library/</c> namespace.</summary>
    public static string Familiar(string name)
    {
        foreach (string prefix in (string[])["docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/"])
        {
            if (name.StartsWith(prefix, StringComparison.Ordinal))
            {
                return name[prefix.Length..];
            }
        }

        return name;
    }

    /// <summary>Splits <c>repo[:tag][@digest]</c> into its parts (the tag's ':' is the one after the last '/').</summary>
    public static (string Repository, string? Tag, string? Digest) Split(string reference)
    {
        string? digest = null;
        int at = reference.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            digest = reference[(at + 1)..];
            reference = reference[..at];
        }

        int slash = reference.LastIndexOf('/');
        int colon = reference.LastIndexOf(':');
        if (colon > slash)
        {
            return (reference[..colon], reference[(colon + 1)..], digest);
        }

        return (reference, null, digest);
    }

    /// <summary>The familiar reference with <c>:latest</c> added when it names neither tag nor digest (<c>busybox</c> → <c>busybox:latest</c>).</summary>
    public static string WithDefaultTag(string reference)
    {
        (string repository, string? tag, string? digest) = Split(reference);
        string familiar = Familiar(repository);
        if (digest is not null)
        {
            return tag is null ? $"{familiar}@{digest}" : $"{familiar}:{tag}@{digest}";
        }

        return $"{familiar}:{tag ?? "latest"}";
    }
}
