using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Berth.Api.Client;
using Berth.Api.Types;
using Berth.Cli.Options;
using Berth.Cli.Parsing;
using Berth.Cli.Templates;

namespace Berth.Cli.Commands;

/// <summary><c>network create|ls|inspect|rm|prune|connect|disconnect</c> and <c>port</c>.</summary>
internal static class NetworkCommands
{
    public static CommandSpec Group() => new()
    {
        Name = "network",
        Usage = "COMMAND",
        Summary = "Manage networks",
        Group = "Management Commands",
        Subcommands = [Connect(), Create(), Disconnect(), Inspect(), List(), Prune(), Remove()],
    };

    private static CommandSpec Create() => new()
    {
        Name = "create",
        Usage = "[OPTIONS] NETWORK",
        Summary = "Create a network",
        MinArgs = 1,
        MaxArgs = 1,
        DefineFlags = f => f
            .Bool("attachable", null, "Enable manual container attachment")
            .List("aux-address", null, "Auxiliary IPv4 or IPv6 addresses used by Network driver", typeName: "map")
            .String("config-from", null, "The network from which to copy the configuration")
            .Bool("config-only", null, "Create a configuration only network")
            .String("driver", 'd', "Driver to manage the Network", defaultValue: "bridge")
            .List("gateway", null, "IPv4 or IPv6 Gateway for the master subnet", typeName: "strings")
            .Bool("ingress", null, "Create swarm routing-mesh network")
            .Bool("internal", null, "Restrict external access to the network")
            .List("ip-range", null, "Allocate container ip from a sub-range", typeName: "strings")
            .String("ipam-driver", null, "IP Address Management Driver", defaultValue: "default")
            .List("ipam-opt", null, "Set IPAM driver specific options", typeName: "map")
            .Bool("ipv4", null, "Enable or disable IPv4 address assignment", defaultValue: true)
            .Bool("ipv6", null, "Enable or disable IPv6 address assignment")
            .List("label", null, "Set metadata on a network")
            .List("opt", 'o', "Set driver specific options", typeName: "map")
            .String("scope", null, "Control the network's scope")
            .List("subnet", null, "Subnet in CIDR format that represents a network segment", typeName: "strings"),
        Handler = CreateAsync,
    };

    private static async Task<int> CreateAsync(CommandContext ctx, ParsedArgs p)
    {
        IReadOnlyList<string> subnets = p.List("subnet");
        IReadOnlyList<string> gateways = p.List("gateway");
        IReadOnlyList<string> ranges = p.List("ip-range");
        if (subnets.Count == 0 && (gateways.Count > 0 || ranges.Count > 0 || p.List("aux-address").Count > 0))
        {
            throw new StatusException(1, "every ip-range or gateway must have a corresponding subnet");
        }

        var configs = new List<NetworkIpamConfig>();
        for (int i = 0; i < subnets.Count; i++)
        {
            configs.Add(new NetworkIpamConfig
            {
                Subnet = subnets[i],
                Gateway = i < gateways.Count ? gateways[i] : null,
                IPRange = i < ranges.Count ? ranges[i] : null,
                AuxiliaryAddresses = i == 0 && p.List("aux-address").Count > 0 ? Options.KeyValues.ToMap(p.List("aux-address")) : null,
            });
        }

        var request = new NetworkCreateRequest
        {
            Name = p.Positionals[0],
            Driver = p.StringOrEmpty("driver"),
            Internal = p.Bool("internal"),
            Attachable = p.Bool("attachable"),
            Ingress = p.Bool("ingress"),
            EnableIPv6 = p.Changed("ipv6") ? p.Bool("ipv6") : null,
            ConfigOnly = p.Bool("config-only"),
            Scope = p.String("scope"),
            IPAM = new NetworkIpam { Driver = p.String("ipam-driver") ?? "default", Config = configs, Options = Options.KeyValues.ToMap(p.List("ipam-opt")) },
            Options = Options.KeyValues.ToMap(p.List("opt")),
            Labels = Options.KeyValues.ToMap(p.List("label")),
        };
        NetworkCreateResponse created = await ctx.Client.CreateNetworkAsync(request, ctx.Cancellation).ConfigureAwait(false);
        await ctx.Out.WriteLineAsync(created.Id).ConfigureAwait(false);
        return 0;
    }

    private static CommandSpec List() => new()
    {
        Name = "ls",
        Aliases = ["list"],
        AliasPaths = ["berth network ls", "berth network list"],
        Usage = "[OPTIONS]",
        Summary = "List networks",
        MaxArgs = 0,
        DefineFlags = f => f
            .List("filter", 'f', "Provide filter values (e.g. \"driver=bridge\")", typeName: "filter")
            .String("format", null, ContainerCommands.ListFormatUsage)
            .Bool("no-trunc", null, "Do not truncate the output")
            .Bool("quiet", 'q', "Only display network IDs"),
        Handler = ListAsync,
    };

    private static async Task<int> ListAsync(CommandContext ctx, ParsedArgs p)
    {
        ApiFilters filters = FilterFlags.Parse(p);

        string? format = p.String("format");
        string resolved = p.Bool("quiet") ? NetworkRow.QuietFormat : ListFormat.Resolve(format, NetworkRow.DefaultTable);
        IReadOnlyList<NetworkInspect> networks = await ctx.Client.ListNetworksAsync(filters, ctx.Cancellation).ConfigureAwait(false);
        bool truncate = !p.Bool("no-trunc");
        IEnumerable<object?> rows = networks.OrderBy(n => n.Name, StringComparer.Ordinal).Select(n => (object?)new NetworkRow(n, truncate, ctx.Zone));
        await ctx.Out.WriteAsync(ListFormat.Render(resolved, rows, NetworkRow.Header)).ConfigureAwait(false);
        return 0;
    }

    private static CommandSpec Inspect() => new()
    {
        Name = "inspect",
        Usage = "[OPTIONS] NETWORK [NETWORK...]",
        Summary = "Display detailed information on one or more networks",
        MinArgs = 1,
        DefineFlags = f => f
            .String("format", 'f', "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates")
            .Bool("verbose", 'v', "Verbose output for diagnostics"),
        Handler = InspectAsync,
    };

    private static Task<int> InspectAsync(CommandContext ctx, ParsedArgs p) =>
        InspectCommand.RenderAsync(ctx, p.Positionals, p.String("format"), InspectCommand.Finder(ctx, ctx.Client.InspectNetworkJsonAsync));

    private static CommandSpec Remove() => new()
    {
        Name = "rm",
        Aliases = ["remove"],
        Usage = "NETWORK [NETWORK...]",
        Summary = "Remove one or more networks",
        MinArgs = 1,
        DefineFlags = f => f.Bool("force", 'f', "Do not error if the network does not exist"),
        Handler = RemoveAsync,
    };

    private static async Task<int> RemoveAsync(CommandContext ctx, ParsedArgs p)
    {
        var errors = new List<string>();
        foreach (string name in p.Positionals)
        {
            try
            {
                await ctx.Client.RemoveNetworkAsync(name, ctx.Cancellation).ConfigureAwait(false);
                await ctx.Out.WriteLineAsync(name).ConfigureAwait(false);
            }
            catch (BerthApiException e) when (e.IsNotFound && p.Bool("force"))
            {
            }
            catch (BerthApiException e)
            {
                errors.Add(e.Message);
            }
        }

        if (errors.Count > 0)
        {
            await ctx.Out.FlushAsync(ctx.Cancellation).ConfigureAwait(false);
            throw new StatusException(1, string.Join("\n", errors));
        }

        return 0;
    }

    private static CommandSpec Prune() => new()
    {
        Name = "prune",
        Usage = "[OPTIONS]",
        Summary = "Remove all unused networks",
        MaxArgs = 0,
        DefineFlags = f => f
            .List("filter", null, "Provide filter values (e.g. \"until=<timestamp>\")", typeName: "filter")
            .Bool("force", 'f', "Do not prompt for confirmation"),
        Handler = PruneAsync,
    };

    private static async Task<int> PruneAsync(CommandContext ctx, ParsedArgs p)
    {
        ApiFilters filters = FilterFlags.Parse(p);

        if (!p.Bool("force"))
        {
            if (!await Prompt.ConfirmAsync(ctx, "WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue? [y/N] ").ConfigureAwait(false))
            {
                return 0;
            }
        }

        NetworkPruneResponse report = await ctx.Client.PruneNetworksAsync(filters, ctx.Cancellation).ConfigureAwait(false);
        if (report.NetworksDeleted.Count > 0)
        {
            await ctx.Out.WriteAsync("Deleted Networks:\n" + string.Concat(report.NetworksDeleted.Select(n => n + "\n"))).ConfigureAwait(false);
        }

        return 0;
    }

    private static CommandSpec Connect() => new()
    {
        Name = "connect",
        Usage = "[OPTIONS] NETWORK CONTAINER",
        Summary = "Connect a container to a network",
        MinArgs = 2,
        MaxArgs = 2,
        DefineFlags = f => f
            .List("alias", null, "Add network-scoped alias for the container", typeName: "strings")
            .List("driver-opt", null, "driver options for the network", typeName: "strings")
            .String("ip", null, "IPv4 address (e.g., \"172.30.100.104\")")
            .String("ip6", null, "IPv6 address (e.g., \"2001:db8::33\")")
            .List("link", null, "Add link to another container")
            .List("link-local-ip", null, "Add a link-local address for the container", typeName: "strings"),
        Handler = ConnectAsync,
    };

    private static async Task<int> ConnectAsync(CommandContext ctx, ParsedArgs p)
    {
        string? ip = p.String("ip");
        var settings = new EndpointSettings
        {
            Aliases = p.List("alias") is { Count: > 0 } aliases ? aliases : null,
            Links = p.List("link") is { Count: > 0 } links ? links : null,
            IPAMConfig = string.IsNullOrEmpty(ip) ? null : new EndpointIpamConfig { IPv4Address = ip },
        };
        await ctx.Client.ConnectNetworkAsync(p.Positionals[0], new NetworkConnectRequest { Container = p.Positionals[1], EndpointConfig = settings }, ctx.Cancellation).ConfigureAwait(false);
        return 0;
    }

    private static CommandSpec Disconnect() => new()
    {
        Name = "disconnect",
        Usage = "[OPTIONS] NETWORK CONTAINER",
        Summary = "Disconnect a container from a network",
        MinArgs = 2,
        MaxArgs = 2,
        DefineFlags = f => f.Bool("force", 'f', "Force the container to disconnect from a network"),
        Handler = DisconnectAsync,
    };

    private static async Task<int> DisconnectAsync(CommandContext ctx, ParsedArgs p)
    {
        await ctx.Client.DisconnectNetworkAsync(p.Positionals[0], new NetworkDisconnectRequest { Container = p.Positionals[1], Force = p.Bool("force") }, ctx.Cancellation).ConfigureAwait(false);
        return 0;
    }

    /// <summary><c>port CONTAINER [PRIVATE_PORT[/PROTO]]</c>: docker's lines, <c>80/tcp -&gt; 0.0.0.0:8080</c>.</summary>
    public static CommandSpec Port(string name, string[] aliasPaths) => new()
    {
        Name = name,
        AliasPaths = aliasPaths,
        Usage = "CONTAINER [PRIVATE_PORT[/PROTO]]",
        Summary = "List port mappings or a specific mapping for the container",
        MinArgs = 1,
        MaxArgs = 2,
        Handler = PortAsync,
    };

    private static async Task<int> PortAsync(CommandContext ctx, ParsedArgs p)
    {
        using JsonDocument doc = await ctx.Client.InspectContainerJsonAsync(p.Positionals[0], false, ctx.Cancellation).ConfigureAwait(false);
        var lines = new List<(int Port, string Proto, string Line)>();
        string? wanted = p.Positionals.Count == 2 ? (p.Positionals[1].Contains('/', StringComparison.Ordinal) ? p.Positionals[1] : p.Positionals[1] + "/tcp") : null;
        if (doc.RootElement.TryGetProperty("NetworkSettings", out JsonElement settings) && settings.TryGetProperty("Ports", out JsonElement ports) && ports.ValueKind == JsonValueKind.Object)
        {
            foreach (JsonProperty port in ports.EnumerateObject())
            {
                if ((wanted is not null && port.Name != wanted) || port.Value.ValueKind != JsonValueKind.Array)
                {
                    continue;
                }

                string[] key = port.Name.Split('/');
                int number = int.Parse(key[0], CultureInfo.InvariantCulture);
                foreach (JsonElement binding in port.Value.EnumerateArray())
                {
                    string hostIp = binding.GetProperty("HostIp").GetString() ?? "";
                    string hostPort = binding.GetProperty("HostPort").GetString() ?? "";
                    string address = hostIp.Contains(':', StringComparison.Ordinal) ? $"[{hostIp}]:{hostPort}" : $"{hostIp}:{hostPort}";
                    lines.Add((number, key.Length > 1 ? key[1] : "tcp", wanted is null ? $"{port.Name} -> {address}" : address));
                }
            }
        }

        if (lines.Count == 0 && wanted is not null)
        {
            throw new StatusException(1, $"Error: No public port '{wanted}' published for {p.Positionals[0]}");
        }

        var output = new StringBuilder();
        foreach ((_, _, string line) in lines.OrderBy(l => l.Port).ThenBy(l => l.Proto, StringComparer.Ordinal))
        {
            output.Append(line).Append('\n');
        }

        await ctx.Out.WriteAsync(output.ToString()).ConfigureAwait(false);
        return 0;
    }
}
