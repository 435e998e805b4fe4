using Berth.Primitives;

namespace Berth.Distribution;

/// <summary>Where a reference's registry is and how to talk to it, as Docker decides.</summary>
public sealed record RegistryEndpoint(string Host, Uri BaseUri)
{
    /// <summary>
    /// An insecure registry (listed in insecure-registries, or localhost, 127.0.0.0/8, ::1): HTTPS without certificate
    /// verification first, plain HTTP when the TLS handshake fails (see <see cref="RegistryClient"/>), as Docker does.
    /// </summary>
    public bool Insecure { get; init; }

    /// <summary>
    /// docker.io is served by registry-1.docker.io; everything is HTTPS, but localhost, 127.0.0.0/8, ::1 and the
    /// configured insecure registries may fall back to plain HTTP (Docker allows that): such an endpoint starts with
    /// the scheme that worked last time for that host, HTTPS when none did yet.
    /// </summary>
    public static RegistryEndpoint For(ImageReference reference, IReadOnlyCollection<string>? insecureRegistries = null)
    {
        ArgumentNullException.ThrowIfNull(reference);
        return ForHost(reference.Domain, insecureRegistries);
    }

    public static RegistryEndpoint ForHost(string domain, IReadOnlyCollection<string>? insecureRegistries = null)
    {
        ArgumentNullException.ThrowIfNull(domain);
        string host = domain is ImageReference.DefaultDomain or "index.docker.io" ? "registry-1.docker.io" : domain;
        bool insecure = IsInsecure(host, insecureRegistries);
        string scheme = insecure ? RegistrySchemes.Known(host) ?? "https" : "https";
        return new RegistryEndpoint(host, new Uri($"{scheme}://{host}/")) { Insecure = insecure };
    }

    /// <summary>The registry a login server address names: <c>https://index.docker.io/v1/</c> is docker.io.</summary>
    public static string NormalizeServer(string server)
    {
        ArgumentNullException.ThrowIfNull(server);
        string host = server;
        int scheme = host.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0)
        {
            host = host[(scheme + 3)..];
        }

        host = host.Split('/')[0];
        return host is "" or "index.docker.io" or "registry-1.docker.io" or ImageReference.DefaultDomain ? ImageReference.DefaultDomain : host;
    }

    private static bool IsInsecure(string host, IReadOnlyCollection<string>? insecureRegistries)
    {
        string name = host;
        if (name.StartsWith('['))
        {
            name = name[1..name.IndexOf(']', StringComparison.Ordinal)];
        }
        else if (name.LastIndexOf(':') is int colon and > 0)
        {
            name = name[..colon];
        }

        return name is "localhost" or "::1" || name.StartsWith("127.", StringComparison.Ordinal)
            || (insecureRegistries?.Any(entry => string.Equals(entry, host, StringComparison.OrdinalIgnoreCase) || InCidr(entry, name)) ?? false);
    }

    /// <summary>Whether <paramref name="name"/> is an IP address inside <paramref name="entry"/> when that is a CIDR (daemon.json allows both).</summary>
    private static bool InCidr(string entry, string name) =>
        entry.Contains('/', StringComparison.Ordinal) && System.Net.IPNetwork.TryParse(entry, out System.Net.IPNetwork network)
        && System.Net.IPAddress.TryParse(name, out System.Net.IPAddress? address) && network.Contains(address);
}
