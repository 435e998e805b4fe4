using System.Text.RegularExpressions;

namespace Berth.Primitives;

/// <summary>
/// A normalised image reference, as Docker normalises them: <c>busybox</c> is
/// <c>docker.io/library/busybox:latest</c>; <c>localhost:5000/app@sha256:…</c> keeps its digest.
/// </summary>
public sealed partial record ImageReference(string Domain, string Path, string? Tag, string? Digest)
{
    public const string DefaultDomain = "docker.io";

    /// <summary>The full name without tag or digest, e.g. <c>docker.io/library/busybox</c>.</summary>
    public string Name => $"{Domain}/{Path}";

    /// <summary>The name as Docker shows it: the docker.io domain and library/ prefix are dropped.</summary>
    public string FamiliarName => Domain == DefaultDomain
        ? (Path.StartsWith("library/", StringComparison.Ordinal) ? Path["library/".Length..] : Path)
        : Name;

    /// <summary>The familiar <c>name:tag</c> (or <c>name@digest</c>).</summary>
    public string FamiliarString => Digest is not null
        ? $"{FamiliarName}{(Tag is null ? "" : ":" + Tag)}@{Digest}"
        : $"{FamiliarName}:{Tag ?? "latest"}";

    public override string ToString() => Digest is not null ? $"{Name}{(Tag is null ? "" : ":" + Tag)}@{Digest}" : $"{Name}:{Tag ?? "latest"}";

    /// <summary>Parses a reference; a missing tag becomes <c>latest</c> unless a digest is given.</summary>
    public static ImageReference Parse(string text)
    {
        if (!TryParse(text, out ImageReference? reference))
        {
            throw EngineException.Invalid(text.Any(char.IsUpper)
                ? $"invalid reference format: repository name ({text}) must be lowercase"
                : "invalid reference format");
        }

        return reference;
    }

    public static bool TryParse(string? text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ImageReference? reference)
    {
        reference = null;
        if (string.IsNullOrWhiteSpace(text) || text.Length > 255 + 72 || IdPattern().IsMatch(text))
        {
            return false; // Docker: "cannot specify 64-byte hexadecimal strings" (that is an id, not a name)
        }

        string rest = text;
        string? digest = null;
        int at = rest.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            digest = rest[(at + 1)..];
            rest = rest[..at];
            if (!Primitives.Digest.TryParse(digest, out _))
            {
                return false;
            }
        }

        string? tag = null;
        int lastSlash = rest.LastIndexOf('/');
        int colon = rest.LastIndexOf(':');
        if (colon > lastSlash)
        {
            tag = rest[(colon + 1)..];
            rest = rest[..colon];
            if (!TagPattern().IsMatch(tag))
            {
                return false;
            }
        }

        string domain = DefaultDomain;
        string path = rest;
        int firstSlash = rest.IndexOf('/', StringComparison.Ordinal);
        if (firstSlash > 0)
        {
            string first = rest[..firstSlash];
            if (first.Contains('.', StringComparison.Ordinal) || first.Contains(':', StringComparison.Ordinal) || first == "localhost" || first.Any(char.IsUpper))
            {
                if (!DomainPattern().IsMatch(first))
                {
                    return false;
                }

                domain = first;
                path = rest[(firstSlash + 1)..];
            }
        }

        if (domain == "index.docker.io")
        {
            domain = DefaultDomain;
        }

        if (domain == DefaultDomain && !path.Contains('/', StringComparison.Ordinal))
        {
            path = "library/" + path;
        }

        if (!PathPattern().IsMatch(path) || domain.Length + 1 + path.Length > 255)
        {
            return false;
        }

        if (tag is null && digest is null)
        {
            tag = "latest";
        }

        reference = new ImageReference(domain, path, tag, digest);
        return true;
    }

    // Go's \w is ASCII only.
    [GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\z")]
    private static partial Regex TagPattern();

    // distribution/reference's domain: host name components or a bracketed IPv6 address, then an optional port.
    [GeneratedRegex(@"^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?\z")]
    private static partial Regex DomainPattern();

    [GeneratedRegex(@"^[a-f0-9]{64}\z")]
    private static partial Regex IdPattern();

    [GeneratedRegex(@"^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*)*\z")]
    private static partial Regex PathPattern();
}
