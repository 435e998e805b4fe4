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
        GoTemplate template = VersionFormat(format);

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

        await ctx.Out.WriteAsync(RenderVersion(template, ClientVersion(ctx), server)).ConfigureAwait(false);
        if (serverError is not null)
        {
            throw new StatusException(1, serverError.Message);
        }

        return 0;
    }

    /// <summary>The template for <c>version</c>: docker's layout, <c>json</c>, or the user's.</summary>
    internal static GoTemplate VersionFormat(string? format) => ListFormat.ParseForCli(
        string.IsNullOrEmpty(format) ? VersionTemplate : ListFormat.Prepare(format == ListFormat.JsonKey ? "{{json .}}" : format),
        new Dictionary<string, TemplateFunction> { ["getDetailsOrder"] = GetDetailsOrder });

    /// <summary>Renders <c>{Client, Server}</c> through docker's tabwriter (minwidth 20, padding 1).</summary>
    internal static string RenderVersion(GoTemplate template, JsonObject client, JsonObject? server)
    {
        var data = new JsonObject { ["Client"] = client, ["Server"] = server };
        var writer = new TabWriter(20, 1);
        writer.Write(template.Execute(data));
        writer.Write("\n");
        return writer.Flush();
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
    internal static JsonObject AddEngineComponent(JsonObject server, TimeZoneInfo zone)
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

        JsonDocument? doc = null;
        Exception? serverError = null;
        try
        {
            doc = await ctx.Client.GetInfoJsonAsync(ctx.Cancellation).ConfigureAwait(false);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new BerthProtocolException("the daemon's /info answer is not a JSON object");
            }
        }
        catch (Exception e) when (e is DaemonUnavailableException or BerthApiException or BerthProtocolException)
        {
            serverError = e;
        }

        using (doc)
        {
            if (!string.IsNullOrEmpty(format))
            {
                JsonObject data = doc is null ? [] : (JsonObject)JsonNode.Parse(doc.RootElement.GetRawText())!;
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
            if (doc is null)
            {
                await ctx.Out.WriteAsync(sb.ToString()).ConfigureAwait(false);
                await ctx.FlushAsync().ConfigureAwait(false);
                throw new StatusException(1, $"ERROR: {serverError?.Message}\nerrors pretty printing info");
            }

            var info = new InfoReader(doc.RootElement);
            AppendServerInfo(sb, info, ctx.Globals.Debug);
            await ctx.Out.WriteAsync(sb.ToString()).ConfigureAwait(false);
            List<string> warnings = info.Strings("Warnings");
            if (warnings.Count > 0)
            {
                await ctx.Out.FlushAsync(ctx.Cancellation).ConfigureAwait(false);
                await ctx.Err.WriteAsync(string.Join("\n", warnings) + "\n").ConfigureAwait(false);
            }

            return 0;
        }
    }

    /// <summary>Reads /info fields leniently: a field the daemon leaves out reads as empty.</summary>
    internal readonly struct InfoReader(JsonElement root)
    {
        public string Str(string name) => Str(root, name);

        public static string Str(JsonElement e, string name) =>
            e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out JsonElement v)
                ? v.ValueKind switch
                {
                    JsonValueKind.String => v.GetString()!,
                    JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => v.GetRawText(),
                    _ => "",
                }
                : "";

        public long Long(string name) =>
            root.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out long l) ? l : 0;

        public bool Bool(string name) => root.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.True;

        public JsonElement Obj(string name) =>
            root.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.Object ? v : default;

        public List<string> Strings(string name) => Strings(root, name);

        public static List<string> Strings(JsonElement e, string name) =>
            e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.Array
                ? v.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!).ToList()
                : [];

        public JsonElement Root => root;
    }

    /// <summary>docker's prettyPrintServerInfo, for the fields the daemon sends.</summary>
    internal static void AppendServerInfo(StringBuilder sb, InfoReader info, bool clientDebug)
    {
        void Line(string label, string value) => sb.Append(label).Append(' ').Append(value).Append('\n');
        void NonEmpty(string label, string value)
        {
            if (value.Length > 0)
            {
                Line(label, value);
            }
        }

        static string B(bool b) => b ? "true" : "false";
        static string N(long n) => n.ToString(System.Globalization.CultureInfo.InvariantCulture);

        Line(" Containers:", N(info.Long("Containers")));
        Line("  Running:", N(info.Long("ContainersRunning")));
        Line("  Paused:", N(info.Long("ContainersPaused")));
        Line("  Stopped:", N(info.Long("ContainersStopped")));
        Line(" Images:", N(info.Long("Images")));
        NonEmpty(" Server Version:", info.Str("ServerVersion"));
        NonEmpty(" Storage Driver:", info.Str("Driver"));
        if (info.Root.TryGetProperty("DriverStatus", out JsonElement driverStatus) && driverStatus.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement pair in driverStatus.EnumerateArray())
            {
                if (pair.ValueKind == JsonValueKind.Array && pair.GetArrayLength() >= 2)
                {
                    sb.Append("  ").Append(pair[0].ToString()).Append(": ").Append(pair[1].ToString()).Append('\n');
                }
            }
        }

        Line(" Logging Driver:", info.Str("LoggingDriver"));
        Line(" Cgroup Driver:", info.Str("CgroupDriver"));
        NonEmpty(" Cgroup Version:", info.Str("CgroupVersion"));
        JsonElement plugins = info.Obj("Plugins");
        sb.Append(" Plugins:\n");
        Line("  Volume:", string.Join(' ', InfoReader.Strings(plugins, "Volume")));
        Line("  Network:", string.Join(' ', InfoReader.Strings(plugins, "Network")));
        List<string> authorization = InfoReader.Strings(plugins, "Authorization");
        if (authorization.Count > 0)
        {
            Line("  Authorization:", string.Join(' ', authorization));
        }

        Line("  Log:", string.Join(' ', InfoReader.Strings(plugins, "Log")));
        List<string> cdi = info.Strings("CDISpecDirs");
        if (cdi.Count > 0)
        {
            sb.Append(" CDI spec directories:\n");
            foreach (string dir in cdi)
            {
                sb.Append("  ").Append(dir).Append('\n');
            }
        }

        string swarm = InfoReader.Str(info.Obj("Swarm"), "LocalNodeState");
        Line(" Swarm:", swarm.Length > 0 ? swarm : "inactive");
        JsonElement runtimes = info.Obj("Runtimes");
        if (runtimes.ValueKind == JsonValueKind.Object && runtimes.EnumerateObject().Any())
        {
            Line(" Runtimes:", string.Join(' ', runtimes.EnumerateObject().Select(r => r.Name).Order(StringComparer.Ordinal)));
            Line(" Default Runtime:", info.Str("DefaultRuntime"));
        }

        if (info.Str("OSType") == "linux")
        {
            Line(" Init Binary:", info.Str("InitBinary"));
            foreach ((string name, string key) in (ReadOnlySpan<(string, string)>)[("containerd", "ContainerdCommit"), ("runc", "RuncCommit"), ("init", "InitCommit")])
            {
                JsonElement commit = info.Obj(key);
                string id = InfoReader.Str(commit, "ID");
                string expected = InfoReader.Str(commit, "Expected");
                sb.Append(' ').Append(name).Append(" version: ").Append(id);
                if (expected.Length > 0 && id != expected)
                {
                    sb.Append(" (expected: ").Append(expected).Append(')');
                }

                sb.Append('\n');
            }

            List<string> securityOptions = info.Strings("SecurityOptions");
            if (securityOptions.Count > 0)
            {
                sb.Append(" Security Options:\n");
                foreach (string option in securityOptions)
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

        NonEmpty(" Kernel Version:", info.Str("KernelVersion"));
        NonEmpty(" Operating System:", info.Str("OperatingSystem"));
        NonEmpty(" OSType:", info.Str("OSType"));
        NonEmpty(" Architecture:", info.Str("Architecture"));
        Line(" CPUs:", N(info.Long("NCPU")));
        Line(" Total Memory:", Units.BytesSize(info.Long("MemTotal")));
        NonEmpty(" Name:", info.Str("Name"));
        NonEmpty(" ID:", info.Str("ID"));
        Line(" Docker Root Dir:", info.Str("DockerRootDir"));
        Line(" Debug Mode:", B(info.Bool("Debug")));
        if (info.Bool("Debug") || clientDebug)
        {
            Line("  File Descriptors:", N(info.Long("NFd")));
            Line("  Goroutines:", N(info.Long("NGoroutines")));
            Line("  System Time:", info.Str("SystemTime"));
            Line("  EventsListeners:", N(info.Long("NEventsListener")));
        }

        NonEmpty(" HTTP Proxy:", info.Str("HttpProxy"));
        NonEmpty(" HTTPS Proxy:", info.Str("HttpsProxy"));
        NonEmpty(" No Proxy:", info.Str("NoProxy"));
        List<string> labels = info.Strings("Labels");
        if (labels.Count > 0)
        {
            sb.Append(" Labels:\n");
            foreach (string label in labels)
            {
                sb.Append("  ").Append(label).Append('\n');
            }
        }

        Line(" Experimental:", B(info.Bool("ExperimentalBuild")));
        JsonElement registry = info.Obj("RegistryConfig");
        List<string> insecure = InfoReader.Strings(registry, "InsecureRegistryCIDRs");
        var insecureIndexes = new List<string>();
        if (registry.ValueKind == JsonValueKind.Object && registry.TryGetProperty("IndexConfigs", out JsonElement indexes) && indexes.ValueKind == JsonValueKind.Object)
        {
            foreach (JsonProperty index in indexes.EnumerateObject())
            {
                if (!(index.Value.TryGetProperty("Secure", out JsonElement secure) && secure.ValueKind == JsonValueKind.True))
                {
                    insecureIndexes.Add(InfoReader.Str(index.Value, "Name") is { Length: > 0 } n ? n : index.Name);
                }
            }
        }

        if (insecure.Count > 0 || insecureIndexes.Count > 0)
        {
            sb.Append(" Insecure Registries:\n");
            foreach (string name in insecureIndexes.Order(StringComparer.Ordinal).Concat(insecure))
            {
                sb.Append("  ").Append(name).Append('\n');
            }
        }

        List<string> mirrors = InfoReader.Strings(registry, "Mirrors");
        if (mirrors.Count > 0)
        {
            sb.Append(" Registry Mirrors:\n");
            foreach (string mirror in mirrors)
            {
                sb.Append("  ").Append(mirror).Append('\n');
            }
        }

        Line(" Live Restore Enabled:", B(info.Bool("LiveRestoreEnabled")));
        sb.Append('\n');
    }
}
