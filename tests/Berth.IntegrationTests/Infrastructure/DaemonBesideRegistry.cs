using Berth.Registry;

namespace Berth.IntegrationTests.Infrastructure;

/// <summary>
/// An in-process berth-registry and a private berthd started with a daemon.json (which may name the registry), on one
/// temp root: what tests of daemon.json's registry settings need. Disposing stops both and deletes the root.
/// </summary>
public sealed class DaemonBesideRegistry : IAsyncDisposable
{
    private readonly string _root;

    private DaemonBesideRegistry(string root, RegistryServer.Running registry, BerthDaemon daemon)
    {
        _root = root;
        Registry = registry;
        Daemon = daemon;
    }

    public RegistryServer.Running Registry { get; }

    public BerthDaemon Daemon { get; }

    /// <summary>The registry's host:port, as image references name it.</summary>
    public string RegistryHost => new Uri(Registry.Address).Authority;

    /// <param name="name">The daemon's name (its log is kept under it).</param>
    /// <param name="daemonJson">The daemon's configuration, given the registry's base address (<c>http://127.0.0.1:PORT/</c>).</param>
    public static async Task<DaemonBesideRegistry> StartAsync(string name, Func<string, string> daemonJson)
    {
        ArgumentNullException.ThrowIfNull(daemonJson);
        string root = Directory.CreateTempSubdirectory("berth-" + name + "-").FullName;
        RegistryServer.Running? registry = null;
        BerthDaemon? daemon = null;
        try
        {
            registry = await RegistryServer.StartAsync("127.0.0.1:0", Path.Combine(root, "data"), CancellationToken.None);
            daemon = BerthDaemon.Create(name);
            await daemon.UseConfigFileAsync(daemonJson(registry.Address));
            await daemon.StartAsync();
            return new DaemonBesideRegistry(root, registry, daemon);
        }
        catch
        {
            await StopAsync(root, registry, daemon);
            throw;
        }
    }

    public ValueTask DisposeAsync() => new(StopAsync(_root, Registry, Daemon));

    private static async Task StopAsync(string root, RegistryServer.Running? registry, BerthDaemon? daemon)
    {
        if (daemon is not null)
        {
            await daemon.DisposeAsync();
        }

        if (registry is not null)
        {
            await registry.DisposeAsync();
        }

        Directory.Delete(root, recursive: true);
    }
}
