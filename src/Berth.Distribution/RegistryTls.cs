using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Berth.Distribution;

/// <summary>
/// Docker's per-registry TLS files: <c>CERTS_D/HOST[:PORT]/*.crt</c> are extra CA roots for that registry (trusted
/// beside the system's), <c>*.cert</c> with the <c>*.key</c> of the same name a client certificate. Nothing there:
/// the system's trust store alone, as any HTTPS client.
/// </summary>
public static class RegistryTls
{
    /// <summary>Where dockerd looks; berthd also looks beside its daemon.json (see DistributionOptions.CertsDirectories).</summary>
    public const string DockerCertsDirectory = "/etc/docker/certs.d";

    /// <summary>
    /// The HTTP handler for one registry: pooled connections, and the registry's CAs and client certificate when it
    /// has some. <paramref name="skipVerification"/> (an insecure registry) accepts any server certificate, as Docker
    /// does for those.
    /// </summary>
    public static SocketsHttpHandler CreateHandler(string host, IReadOnlyList<string> certsDirectories, bool skipVerification = false)
    {
        ArgumentNullException.ThrowIfNull(certsDirectories);
        var handler = new SocketsHttpHandler { AllowAutoRedirect = true, ConnectTimeout = TimeSpan.FromSeconds(15), MaxConnectionsPerServer = 8 };
        if (skipVerification)
        {
#pragma warning disable CA5359 // Deliberate: an insecure registry (see AcceptAny).
            handler.SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = AcceptAny };
#pragma warning restore CA5359
        }

        string? directory = certsDirectories.Select(d => Path.Combine(d, host)).FirstOrDefault(Directory.Exists);
        if (directory is null)
        {
            return handler;
        }

        var roots = new X509Certificate2Collection();
        foreach (string file in Directory.EnumerateFiles(directory, "*.crt").Order(StringComparer.Ordinal))
        {
            roots.ImportFromPemFile(file);
        }

        var clientCertificates = new X509CertificateCollection();
        foreach (string certificate in Directory.EnumerateFiles(directory, "*.cert").Order(StringComparer.Ordinal))
        {
            string key = Path.ChangeExtension(certificate, ".key");
            if (File.Exists(key))
            {
                clientCertificates.Add(X509Certificate2.CreateFromPemFile(certificate, key));
            }
        }

#pragma warning disable CA5359 // Deliberate: an insecure registry (see AcceptAny).
        handler.SslOptions = new SslClientAuthenticationOptions
        {
            ClientCertificates = clientCertificates,
            RemoteCertificateValidationCallback = skipVerification ? AcceptAny
                : roots.Count == 0 ? null : (_, certificate, chain, errors) => Trusted(certificate, chain, errors, roots),
        };
#pragma warning restore CA5359
        return handler;
    }

    /// <summary>
    /// Any certificate: only for a registry the operator listed in insecure-registries (or loopback), where Docker
    /// skips verification too; the alternative there is plain HTTP, which verifies nothing either.
    /// </summary>
    private static bool AcceptAny(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors) => true;

    /// <summary>Valid for the system's store, or chains to one of the registry's own CAs (the host name must still match).</summary>
    private static bool Trusted(X509Certificate? certificate, X509Chain? presented, SslPolicyErrors errors, X509Certificate2Collection roots)
    {
        if (errors == SslPolicyErrors.None)
        {
            return true;
        }

        if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (presented is not null)
        {
            foreach (X509ChainElement element in presented.ChainElements.Skip(1))
            {
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        using var leaf = new X509Certificate2(certificate);
        return chain.Build(leaf);
    }
}
