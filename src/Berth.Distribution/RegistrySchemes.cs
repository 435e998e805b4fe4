using System.Collections.Concurrent;

namespace Berth.Distribution;

/// <summary>
/// The scheme that worked for each insecure registry (https or http), remembered for the process's life so only the
/// first transfer to a host pays the HTTPS probe. Forgotten when a request to the host fails at the connection, so a
/// registry that changed (restarted with or without TLS on the same port) is probed again next time.
/// </summary>
public static class RegistrySchemes
{
    private static readonly ConcurrentDictionary<string, string> Schemes = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The scheme that worked for <paramref name="host"/>, or null when none has been found yet.</summary>
    public static string? Known(string host) => Schemes.TryGetValue(host, out string? scheme) ? scheme : null;

    public static void Remember(string host, string scheme) => Schemes[host] = scheme;

    public static void Forget(string host) => Schemes.TryRemove(host, out _);
}
