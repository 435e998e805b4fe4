using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Berth.Api.Client;
using Berth.Api.Types;
using Berth.Cli.Parsing;
using Berth.Cli.Templates;

namespace Berth.Cli.Commands;

/// <summary><c>berth version</c> and <c>berth info</c>.</summary>
internal static class SystemCommands
{
    public const string FormatUsage =
        "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates";

    /// <summary>docker's defaultVersionTemplate (with <c>.Server</c> standing for <c>.ServerOK</c>).</summary>
    private const string VersionTemplate =
        "{{with .Client -}}\n" +
        "Client:{{if ne .Platform.Name \"\"}} {{.Platform.Name}}{{end}}\n" +
        " Version:\t{{.Version}}\n" +
        " API version:\t{{.APIVersion}}{{if ne .APIVersion .DefaultAPIVersion}} (downgraded from {{.DefaultAPIVersion}}){{end}}\n" +
        " Go version:\t{{.GoVersion}}\n" +
        " Git commit:\t{{.GitCommit}}\n" +
        " Built:\t{{.BuildTime}}\n" +
        " OS/Arch:\t{{.Os}}/{{.Arch}}\n" +
        " Context:\t{{.Context}}\n" +
        "{{- end}}\n\n" +
        "{{- if .Server}}{{with .Server}}\n\n" +
        "Server:{{if ne .Platform.Name \"\"}} {{.Platform.Name}}{{end}}\n" +
        " {{- range $component := .Components}}\n" +
        " {{$component.Name}}:\n" +
        "  {{- if eq $component.Name \"Engine\" }}\n" +
        "  Version:\t{{.Version}}\n" +
        "  API version:\t{{index .Details \"ApiVersion\"}} (minimum version {{index .Details \"MinAPIVersion\"}})\n" +
        "  Go version:\t{{index .Details \"GoVersion\"}}\n" +
        "  Git commit:\t{{index .Details \"GitCommit\"}}\n" +
        "  Built:\t{{index .Details \"BuildTime\"}}\n" +
        "  OS/Arch:\t{{index .Details \"Os\"}}/{{index .Details \"Arch\"}}\n" +
        "  Experimental:\t{{index .Details \"Experimental\"}}\n" +
        "  {{- else }}\n" +
        "  Version:\t{{$component.Version}}\n" +
        "  {{- $detailsOrder := getDetailsOrder $component}}\n" +
        "  {{- range $key := $detailsOrder}}\n" +
        "  {{$key}}:\t{{index $component.Details $key}}\n" +
        "   {{- end}}\n" +
        "  {{- end}}\n" +
        " {{- end}}\n" +
        " {{- end}}{{- end}}";

    public static CommandSpec Version() => new()
    {
        Name = "version",
        Summary = "Show the Berth version information",
        MaxArgs = 0,
        DefineFlags = f => f.String("format", 'f', FormatUsage),
        Handler = RunVersionAsync,
    };

    public static CommandSpec Info(string name, string[] aliasPaths) => new()
    {
        Name = name,
        Summary = "Display system-wide information",
        MaxArgs = 0,
        AliasPaths = aliasPaths,
        DefineFlags = f => f.String("format", 'f', FormatUsage),
        Handler = RunInfoAsync,
    };

    private static async Task<int> RunVersionAsync(CommandContext ctx, ParsedArgs p)
    {
        string? format = p.String("format");
        GoTemplate template = ListFormat.ParseForCli(
            string.IsNullOrEmpty(format) ? VersionTemplate : ListFormat.Prepare(format == ListFormat.JsonKey ? "{{json .}}" : format),
            new Dictionary<string, TemplateFunction> { ["getDetailsOrder"] = GetDetailsOrder });

        Exception? serverError = null;
        JsonObject? server = null;
        try
        {
            using JsonDocument doc = await ctx.Client.GetVersionJsonAsync(ctx.Cancellation).ConfigureAwait(false);
            server = AddEngineComponent((JsonObject)JsonNode.Parse(doc.RootElement.GetRawText())!, ctx.Zone);
        }
        catch (Exception e) when (e is DaemonUnavailableException or BerthApiException or BerthProtocolException)
        {
            serverError = e;
        }

        var data = new JsonObject
        {
            ["Client"] = ClientVersion(ctx),
            ["Server"] = server,
        };

        var writer = new TabWriter(20, 1);
        writer.Write(template.Execute(data));
        writer.Write("\n");
        await ctx.Out.WriteAsync(writer.Flush()).ConfigureAwait(false);
        if (serverError is not null)
        {
            throw new StatusException(1, serverError.Message);
        }

        return 0;
    }

    private static JsonObject ClientVersion(CommandContext ctx)
    {
        string negotiated = ctx.Client.ApiVersion?.ToString() ?? ApiVersion.Max.ToString();
        string built = "";
        try
        {
            if (Environment.ProcessPath is string exe && File.Exists(exe))
            {
                built = Units.AnsiC(TimeZoneInfo.ConvertTime(new DateTimeOffset(File.GetLastWriteTimeUtc(exe), TimeSpan.Zero), ctx.Zone));
            }
        }
        catch (IOException)
        {
        }

        return new JsonObject
        {
            ["Platform"] = new JsonObject { ["Name"] = "" },
            ["Version"] = BuildInfo.Version,
            ["ApiVersion"] = negotiated,
            ["DefaultAPIVersion"] = ApiVersion.Max.ToString(),
            ["GitCommit"] = BuildInfo.Commit,
            ["GoVersion"] = RuntimeInformation.FrameworkDescription,
            ["Os"] = "linux",
            ["Arch"] = GoArch(RuntimeInformation.OSArchitecture),
            ["BuildTime"] = built,
            ["Context"] = "default",
        };
    }

    /// <summary>Like docker: a daemon that lists no "Engine" component gets one made from the top-level fields; build times read as ANSIC.</summary>
    private static JsonObject AddEngineComponent(JsonObject server, TimeZoneInfo zone)
    {
        if (server["Components"] is not JsonArray components)
        {
            components = [];
            server["Components"] = components;
        }

        bool found = false;
        foreach (JsonNode? component in components)
        {
            if (component?["Name"]?.GetValueKind() == JsonValueKind.String && component["Name"]!.GetValue<string>() == "Engine")
            {
                found = true;
                if (component["Details"] is JsonObject details && details["BuildTime"]?.GetValueKind() == JsonValueKind.String)
                {
                    details["BuildTime"] = ReformatDate(details["BuildTime"]!.GetValue<string>(), zone);
                }
            }
        }

        if (!found)
        {
            string Text(string key) => server[key]?.GetValueKind() == JsonValueKind.String ? server[key]!.GetValue<string>() : "";
            bool experimental = server["Experimental"]?.GetValueKind() == JsonValueKind.True;
            components.Add((JsonNode)new JsonObject
            {
                ["Name"] = "Engine",
                ["Version"] = Text("Version"),
                ["Details"] = new JsonObject
                {
                    ["ApiVersion"] = Text("ApiVersion"),
                    ["MinAPIVersion"] = Text("MinAPIVersion"),
                    ["GitCommit"] = Text("GitCommit"),
                    ["GoVersion"] = Text("GoVersion"),
                    ["Os"] = Text("Os"),
                    ["Arch"] = Text("Arch"),
                    ["BuildTime"] = ReformatDate(Text("BuildTime"), zone),
                    ["Experimental"] = experimental ? "true" : "false",
                },
            });
        }

        return server;
    }

    private static string ReformatDate(string value, TimeZoneInfo zone) =>
        DateTimeOffset.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out DateTimeOffset t)
            ? Units.AnsiC(TimeZoneInfo.ConvertTime(t, zone))
            : value;

    private static object? GetDetailsOrder(IReadOnlyList<object?> args)
    {
        object? component = args.Count > 0 ? TemplateValues.Normalize(args[0]) : null;
        if (component is JsonObject o && o["Details"] is JsonObject details)
        {
            return details.Select(p => p.Key).Order(StringComparer.Ordinal).Select(k => (object?)k).ToList();
        }

        return new List<object?>();
    }

    public static string GoArch(Architecture architecture) => architecture switch
    {
        Architecture.X64 => "amd64",
        Architecture.Arm64 => "arm64",
        Architecture.X86 => "386",
        Architecture.Arm => "arm",
        Architecture.S390x => "s390x",
        Architecture.Ppc64le => "ppc64le",
        Architecture.RiscV64 => "riscv64",
        _ => architecture.ToString().ToLowerInvariant(),
    };

    private static async Task<int> RunInfoAsync(CommandContext ctx, ParsedArgs p)
    {
        string? format = p.String("format");
        var clientInfo = new JsonObject
        {
            ["Debug"] = ctx.Globals.Debug,
            ["Version"] = BuildInfo.Version,
            ["GitCommit"] = BuildInfo.Commit,
            ["Context"] = "default",
            ["Plugins"] = new JsonArray(),
            ["Warnings"] = null,
        };

        JsonObject? raw = null;
        SystemInfo? info = null;
        Exception? serverError = null;
        try
        {
            using JsonDocument doc = await ctx.Client.GetInfoJsonAsync(ctx.Cancellation).ConfigureAwait(false);
            raw = (JsonObject)JsonNode.Parse(doc.RootElement.GetRawText())!;
            info = doc.RootElement.Deserialize(ApiJsonContext.Default.SystemInfo);
        }
        catch (Exception e) when (e is DaemonUnavailableException or BerthApiException or BerthProtocolException or JsonException)
        {
            serverError = e;
        }

        if (!string.IsNullOrEmpty(format))
        {
            JsonObject data = raw ?? [];
            data["ClientInfo"] = clientInfo;
            if (serverError is not null)
            {
                data["ServerErrors"] = new JsonArray(serverError.Message);
            }

            GoTemplate template = ListFormat.ParseForCli(ListFormat.Prepare(format == ListFormat.JsonKey ? "{{json .}}" : format));
            await ctx.Out.WriteAsync(template.Execute(data) + "\n").ConfigureAwait(false);
            if (serverError is not null)
            {
                throw new StatusException(1, serverError.Message);
            }

            return 0;
        }

        var sb = new StringBuilder();
        sb.Append("Client:\n");
        sb.Append(" Version:    ").Append(BuildInfo.Version).Append('\n');
        sb.Append(" Context:    default\n");
        sb.Append(" Debug Mode: ").Append(ctx.Globals.Debug ? "true" : "false").Append('\n');
        sb.Append("\nServer:\n");
        if (info is null)
        {
            await ctx.Out.WriteAsync(sb.ToString()).ConfigureAwait(false);
            await ctx.FlushAsync().ConfigureAwait(false);
            throw new StatusException(1, $"ERROR: {serverError?.Message}\nerrors pretty printing info");
        }

        AppendServerInfo(sb, info, ctx.Globals.Debug);
        await ctx.Out.WriteAsync(sb.ToString()).ConfigureAwait(false);
        if (info.Warnings.Count > 0)
        {
            await ctx.Out.FlushAsync(ctx.Cancellation).ConfigureAwait(false);
            await ctx.Err.WriteAsync(string.Join("\n", info.Warnings) + "\n").ConfigureAwait(false);
        }

        return 0;
    }

    /// <summary>docker's prettyPrintServerInfo, for the fields the API carries.</summary>
    internal static void AppendServerInfo(StringBuilder sb, SystemInfo info, bool clientDebug)
    {
        void Line(string label, object value) => sb.Append(label).Append(' ').Append(value is bool b ? (b ? "true" : "false") : value).Append('\n');
        void NonEmpty(string label, string value)
        {
            if (value.Length > 0)
            {
                Line(label, value);
            }
        }

        Line(" Containers:", info.Containers);
        Line("  Running:", info.ContainersRunning);
        Line("  Paused:", info.ContainersPaused);
        Line("  Stopped:", info.ContainersStopped);
        Line(" Images:", info.Images);
        NonEmpty(" Server Version:", info.ServerVersion);
        NonEmpty(" Storage Driver:", info.Driver);
        foreach (IReadOnlyList<string> pair in info.DriverStatus)
        {
            if (pair.Count >= 2)
            {
                sb.Append("  ").Append(pair[0]).Append(": ").Append(pair[1]).Append('\n');
            }
        }

        Line(" Logging Driver:", info.LoggingDriver);
        Line(" Cgroup Driver:", info.CgroupDriver);
        NonEmpty(" Cgroup Version:", info.CgroupVersion);
        sb.Append(" Plugins:\n");
        Line("  Volume:", string.Join(' ', info.Plugins.Volume));
        Line("  Network:", string.Join(' ', info.Plugins.Network));
        if (info.Plugins.Authorization is { Count: > 0 } authorization)
        {
            Line("  Authorization:", string.Join(' ', authorization));
        }

        Line("  Log:", string.Join(' ', info.Plugins.Log));
        Line(" Swarm:", info.Swarm.LocalNodeState);
        if (info.Runtimes.Count > 0)
        {
            Line(" Runtimes:", string.Join(' ', info.Runtimes.Keys.Order(StringComparer.Ordinal)));
            Line(" Default Runtime:", info.DefaultRuntime);
        }

        if (info.OSType == "linux")
        {
            Line(" Init Binary:", info.InitBinary);
            foreach ((string name, CommitInfo commit) in (ReadOnlySpan<(string, CommitInfo)>)[("containerd", info.ContainerdCommit), ("runc", info.RuncCommit), ("init", info.InitCommit)])
            {
                sb.Append(' ').Append(name).Append(" version: ").Append(commit.ID);
                if (commit.Expected.Length > 0 && commit.ID != commit.Expected)
                {
                    sb.Append(" (expected: ").Append(commit.Expected).Append(')');
                }

                sb.Append('\n');
            }

            if (info.SecurityOptions.Count > 0)
            {
                sb.Append(" Security Options:\n");
                foreach (string option in info.SecurityOptions)
                {
                    string name = option;
                    string? profile = null;
                    foreach (string kv in option.Split(','))
                    {
                        int eq = kv.IndexOf('=', StringComparison.Ordinal);
                        if (eq < 0)
                        {
                            continue;
                        }

                        if (kv[..eq] == "name")
                        {
                            name = kv[(eq + 1)..];
                        }
                        else if (kv[..eq] == "profile")
                        {
                            profile = kv[(eq + 1)..];
                        }
                    }

                    sb.Append("  ").Append(name).Append('\n');
                    if (profile is not null)
                    {
                        Line("   Profile:", profile);
                    }
                }
            }
        }

        NonEmpty(" Kernel Version:", info.KernelVersion);
        NonEmpty(" Operating System:", info.OperatingSystem);
        NonEmpty(" OSType:", info.OSType);
        NonEmpty(" Architecture:", info.Architecture);
        Line(" CPUs:", info.NCPU);
        Line(" Total Memory:", Units.BytesSize(info.MemTotal));
        NonEmpty(" Name:", info.Name);
        NonEmpty(" ID:", info.ID);
        Line(" Docker Root Dir:", info.DockerRootDir);
        Line(" Debug Mode:", info.Debug);
        if (info.Debug || clientDebug)
        {
            Line("  File Descriptors:", info.NFd);
            Line("  Goroutines:", info.NGoroutines);
            Line("  System Time:", info.SystemTime);
            Line("  EventsListeners:", info.NEventsListener);
        }

        NonEmpty(" HTTP Proxy:", info.HttpProxy);
        NonEmpty(" HTTPS Proxy:", info.HttpsProxy);
        NonEmpty(" No Proxy:", info.NoProxy);
        if (info.Labels.Count > 0)
        {
            sb.Append(" Labels:\n");
            foreach (string label in info.Labels)
            {
                sb.Append("  ").Append(label).Append('\n');
            }
        }

        Line(" Experimental:", info.ExperimentalBuild);
        RegistryServiceConfig registry = info.RegistryConfig;
        if (registry.InsecureRegistryCIDRs.Count > 0 || registry.IndexConfigs.Count > 0)
        {
            sb.Append(" Insecure Registries:\n");
            foreach (IndexInfo index in registry.IndexConfigs.Values.Where(i => !i.Secure).OrderBy(i => i.Name, StringComparer.Ordinal))
            {
                sb.Append("  ").Append(index.Name).Append('\n');
            }

            foreach (string cidr in registry.InsecureRegistryCIDRs)
            {
                sb.Append("  ").Append(cidr).Append('\n');
            }
        }

        if (registry.Mirrors.Count > 0)
        {
            sb.Append(" Registry Mirrors:\n");
            foreach (string mirror in registry.Mirrors)
            {
                sb.Append("  ").Append(mirror).Append('\n');
            }
        }

        Line(" Live Restore Enabled:", info.LiveRestoreEnabled);
        sb.Append('\n');
    }
}
