namespace Berth.Registry;

/// <summary>How <c>berth-registry serve</c> runs: where it listens, where it stores, who may use it, over what.</summary>
public sealed record RegistryServerOptions
{
    /// <summary>HOST:PORT; port 0 picks a free one (see <see cref="RegistryServer.Running.Address"/>).</summary>
    public string Address { get; init; } = "127.0.0.1:5000";

    public string Root { get; init; } = "/var/lib/berth-registry";

    /// <summary>An htpasswd file of bcrypt entries: every request then needs Basic credentials of one of its users.</summary>
    public string? HtpasswdPath { get; init; }

    /// <summary>The Basic challenge's realm (distribution's auth.htpasswd.realm).</summary>
    public string Realm { get; init; } = "Registry Realm";

    /// <summary>PEM certificate chain and key: HTTPS instead of plain HTTP.</summary>
    public string? TlsCertPath { get; init; }

    public string? TlsKeyPath { get; init; }

    /// <summary>Whether DELETE of manifests is allowed (distribution's storage.delete.enabled; off by default).</summary>
    public bool DeleteEnabled { get; init; }
}
