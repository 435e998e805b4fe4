using System.Net;
using Berth.Api.Server;
using Berth.Interop;

namespace Berth.Daemon;

/// <summary>Kestrel endpoints from <c>-H</c> values, and the unix socket's permissions once it exists.</summary>
internal static class DaemonListeners
{
    /// <summary>Configures Kestrel; returns the unix socket paths.</summary>
    public static List<string> Configure(IWebHostBuilder web, IReadOnlyList<string> hosts)
    {
        var sockets = new List<string>();
        var endpoints = new List<Action<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>>();
        foreach (string host in hosts)
        {
            if (host.StartsWith("unix://", StringComparison.Ordinal))
            {
                string path = host["unix://".Length..];
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                File.Delete(path); // a stale socket from a crashed daemon (the pid file proved none runs)
                sockets.Add(path);
                endpoints.Add(k => k.ListenUnixSocket(path, l => HijackableConnection.Install(l)));
            }
            else if (host.StartsWith("tcp://", StringComparison.Ordinal))
            {
                var uri = new Uri(host);
                IPAddress address = uri.Host is "localhost" ? IPAddress.Loopback : IPAddress.Parse(uri.Host);
                int port = uri.Port > 0 ? uri.Port : 2375;
                endpoints.Add(k => k.Listen(address, port, l => HijackableConnection.Install(l)));
            }
            else
            {
                throw new ArgumentException($"invalid host {host}: use unix:///path or tcp://ADDRESS:PORT");
            }
        }

        web.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = null; // image loads and build contexts are large
            k.Limits.KeepAliveTimeout = TimeSpan.FromMinutes(10);
            foreach (var endpoint in endpoints)
            {
                endpoint(k);
            }
        });
        return sockets;
    }

    /// <summary>Mode 0660, group <paramref name="group"/> when it exists (else root only), as dockerd does.</summary>
    public static void SecureSockets(IEnumerable<string> sockets, string group)
    {
        int? gid = FileOwnership.GroupId(group);
        foreach (string socket in sockets)
        {
            File.SetUnixFileMode(socket, UnixFileMode.UserRead | UnixFileMode.UserWrite | (gid is null ? 0 : UnixFileMode.GroupRead | UnixFileMode.GroupWrite));
            if (gid is int g)
            {
                FileOwnership.Change(socket, 0, g);
            }
        }
    }
}
