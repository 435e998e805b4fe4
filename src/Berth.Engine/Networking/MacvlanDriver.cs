using System.Globalization;
using Berth.Interop;
using Berth.Primitives;
using Microsoft.Extensions.Logging;

namespace Berth.Engine.Networking;

/// <summary>
/// The macvlan driver: a network is a parent link (given with <c>-o parent=</c>, an 802.1q sub-interface made on
/// demand, or a dummy of our own); each container gets a macvlan link of that parent, born in its namespace.
/// No bridge, no NAT, no published ports, no rules: the containers sit on the parent's wire.
/// </summary>
public sealed partial class NetworkService
{
    private static readonly string[] MacvlanModes = ["bridge", "private", "vepa", "passthru"];

    /// <summary>
    /// At <c>network create -d macvlan</c>: the parent and mode, checked as Docker checks them, and whether the parent
    /// must be made (a dummy when no parent was given, a VLAN link for a missing <c>IFACE.VLAN</c>). Called under the gate.
    /// </summary>
    private (string Parent, string Mode, bool CreatesParent) MacvlanSettings(string networkId, IReadOnlyDictionary<string, string> options)
    {
        string mode = options.TryGetValue("macvlan_mode", out string? asked) && asked.Length > 0 ? asked : "bridge";
        if (!MacvlanModes.Contains(mode))
        {
            throw EngineException.Invalid($"requested macvlan mode '{mode}' is not valid, 'bridge' mode is the macvlan driver default");
        }

        string parent = options.TryGetValue("parent", out string? given) ? given : "";
        if (parent.Length == 0)
        {
            return ("dm-" + networkId[..12], mode, true);
        }

        if (parent == "lo")
        {
            throw EngineException.Invalid("loopback interface is not a valid macvlan parent link");
        }

        foreach (NetworkRecord other in _networks.Values.Where(n => n.IsMacvlan && n.Parent == parent))
        {
            if (mode == "passthru")
            {
                throw Forbidden($"cannot use mode passthru, macvlan network {other.Id} is already using parent interface {parent}");
            }

            if (other.MacvlanMode == "passthru")
            {
                throw Forbidden($"macvlan network {other.Id} is already using parent interface {parent} in mode passthru");
            }
        }

        if (RouteNetlink.LinkIndex(parent) != 0)
        {
            return (parent, mode, false);
        }

        (string lower, _) = ParseVlanParent(parent);
        if (RouteNetlink.LinkIndex(lower) == 0)
        {
            throw EngineException.Invalid($"-o parent interface was not found on the host: {lower}");
        }

        return (parent, mode, true);
    }

    /// <summary>Docker's <c>IFACE.VLAN</c> sub-interface name: the lower link's name and the VLAN id (1–4094).</summary>
    private static (string Lower, int VlanId) ParseVlanParent(string parent)
    {
        int dot = parent.LastIndexOf('.');
        if (dot <= 0 || dot == parent.Length - 1)
        {
            throw EngineException.Invalid($"invalid subinterface vlan name {parent}, example formatting is eth0.10");
        }

        if (!int.TryParse(parent.AsSpan(dot + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int vlan))
        {
            throw EngineException.Invalid($"unable to convert the vlan id {parent[(dot + 1)..]} of {parent} to an integer");
        }

        return vlan is < 1 or > 4094
            ? throw EngineException.Invalid($"vlan id must be between 1-4094, received: {vlan}")
            : (parent[..dot], vlan);
    }

    /// <summary>Makes the parent link when it is ours to make (dummy or VLAN) and sets it up; an existing parent is left alone.</summary>
    private void EnsureMacvlanParent(NetworkRecord network)
    {
        if (!network.CreatedParent || RouteNetlink.LinkIndex(network.Parent) != 0)
        {
            return;
        }

        lock (_hostLinkLock)
        {
            try
            {
                if (network.Parent.StartsWith("dm-", StringComparison.Ordinal) && network.Parent == "dm-" + network.Id[..12])
                {
                    _hostLinks.CreateDummy(network.Parent);
                }
                else
                {
                    (string lower, int vlan) = ParseVlanParent(network.Parent);
                    int lowerIndex = RouteNetlink.LinkIndex(lower);
                    if (lowerIndex == 0)
                    {
                        throw EngineException.Invalid($"-o parent interface was not found on the host: {lower}");
                    }

                    _hostLinks.CreateVlan(network.Parent, lowerIndex, vlan);
                }
            }
            catch (NativeException e) when (RouteNetlink.IsUnsupportedLinkType(e))
            {
                // A kernel without the dummy or 8021q link type (no module to load) cannot make the parent.
                throw EngineException.Invalid($"cannot create the parent link {network.Parent} of macvlan network {network.Name}: this kernel has no {(network.Parent.StartsWith("dm-", StringComparison.Ordinal) ? "dummy" : "802.1q vlan")} link type; give an existing interface with -o parent=");
            }

            _hostLinks.SetLinkUp(RouteNetlink.LinkIndex(network.Parent));
        }
    }

    /// <summary>At network removal: the parent goes only when we made it.</summary>
    private void DeleteMacvlanParent(NetworkRecord network)
    {
        if (network.CreatedParent)
        {
            lock (_hostLinkLock)
            {
                _hostLinks.DeleteLink(network.Parent);
            }
        }
    }

    /// <summary>At daemon start: parents we made exist again (a reboot takes them).</summary>
    private void RestoreMacvlanParents()
    {
        foreach (NetworkRecord network in Snapshot().Where(n => n.IsMacvlan))
        {
            try
            {
                EnsureMacvlanParent(network);
            }
            catch (Exception e) when (e is EngineException or NativeException)
            {
                LogMacvlanParentRestoreFailed(network.Name, network.Parent, e);
            }
        }
    }

    /// <summary>Records the name a container's interface got inside its namespace (a macvlan link is deleted there by that name).</summary>
    private void RecordInterfaceName(string networkId, string containerId, string interfaceName)
    {
        lock (_gate)
        {
            if (_networks.TryGetValue(networkId, out NetworkRecord? network) && network.Endpoints.TryGetValue(containerId, out EndpointRecord? endpoint))
            {
                var endpoints = new Dictionary<string, EndpointRecord>(network.Endpoints, StringComparer.Ordinal) { [containerId] = endpoint with { InterfaceName = interfaceName } };
                Save(network with { Endpoints = endpoints });
            }
        }
    }

    /// <summary>A running container's macvlan link on a network it leaves: deleted inside its namespace.</summary>
    private async Task DeleteInsideAsync(string containerId, string interfaceName)
    {
        string pin = NamespacePath(containerId);
        if (interfaceName.Length == 0 || !File.Exists(pin))
        {
            return;
        }

        await NetworkNamespace.RunInsideAsync(pin, _ =>
        {
            using var inside = new RouteNetlink();
            inside.DeleteLink(interfaceName);
        }).ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 614, Level = LogLevel.Warning, Message = "the parent link {Parent} of macvlan network {Name} could not be made again")]
    private partial void LogMacvlanParentRestoreFailed(string name, string parent, Exception exception);
}
