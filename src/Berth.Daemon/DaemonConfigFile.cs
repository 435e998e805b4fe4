using System.Text.Json;

namespace Berth.Daemon;

/// <summary>
/// /etc/berth/daemon.json: dockerd's configuration file, with Docker's keys where they apply. Flags win only in the
/// sense that a directive may not be given both ways (Docker refuses that); keys Berth does not act on yet are kept
/// (<see cref="DaemonOptions.Stored"/>) for the features that will.
/// </summary>
public static class DaemonConfigFile
{
    public const string DefaultPath = "/etc/berth/daemon.json";

    /// <summary>The keys accepted; the values say what the flag of the same directive is called (null: no flag).</summary>
    private static readonly Dictionary<string, string?> Directives = new(StringComparer.Ordinal)
    {
        ["data-root"] = "data-root", ["exec-root"] = "exec-root", ["hosts"] = "host", ["log-level"] = "log-level",
        ["debug"] = "debug", ["pidfile"] = "pidfile", ["group"] = "group", ["live-restore"] = null, ["labels"] = null,
        ["default-ulimits"] = null, ["dns"] = null, ["dns-search"] = null, ["dns-opts"] = null, ["runtimes"] = null,
        ["default-runtime"] = null, ["insecure-registries"] = null, ["registry-mirrors"] = null,
        ["default-address-pools"] = null, ["log-driver"] = null, ["log-opts"] = null, ["max-concurrent-downloads"] = null,
        ["max-concurrent-uploads"] = null, ["max-download-attempts"] = null, ["experimental"] = null, ["features"] = null, ["bip"] = null,
        ["iptables"] = null, ["exec-path"] = null, ["ip-forward"] = null, ["userland-proxy"] = null, ["mtu"] = null, ["shutdown-timeout"] = null,
    };

    private static readonly string[] LogLevels = ["debug", "info", "warn", "warning", "error", "fatal"];

    /// <summary>
    /// Reads the file into <paramref name="options"/>. A missing file is fine at the default path and an error at one
    /// given with --config-file. Errors read as dockerd's: <c>unable to configure the Docker daemon with file ...</c>.
    /// </summary>
    public static void Apply(DaemonOptions options, bool reload = false)
    {
        string path = options.ConfigFile ?? DefaultPath;
        if (!File.Exists(path))
        {
            if (options.ConfigFile is not null)
            {
                throw new ArgumentException($"unable to configure the Docker daemon with file {path}: open {path}: no such file or directory");
            }

            return;
        }

        try
        {
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new ArgumentException("the configuration is not a JSON object");
            }

            Read(options, doc.RootElement, reload);
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"unable to configure the Docker daemon with file {path}: {e.Message}", e);
        }
        catch (ArgumentException e) when (!e.Message.StartsWith("unable to configure", StringComparison.Ordinal))
        {
            throw new ArgumentException($"unable to configure the Docker daemon with file {path}: {e.Message}", e);
        }
    }

    private static void Read(DaemonOptions options, JsonElement root, bool reload)
    {
        string[] unknown = [.. root.EnumerateObject().Select(p => p.Name).Where(n => !Directives.ContainsKey(n))];
        if (unknown.Length > 0)
        {
            throw new ArgumentException($"the following directives don't match any configuration option: {string.Join(", ", unknown)}");
        }

        // Docker: a directive given both as a flag and in the file is an error (on reload the flags stay as they were).
        var conflicts = new List<string>();
        foreach (JsonProperty property in root.EnumerateObject())
        {
            if (!reload && Directives[property.Name] is { } flag && options.FlagsSet.Contains(flag))
            {
                conflicts.Add($"{property.Name}: (from flag: {options.FlagValue(flag)}, from file: {Text(property.Value)})");
            }
        }

        if (conflicts.Count > 0)
        {
            throw new ArgumentException("the following directives are specified both as a flag and in the configuration file: " + string.Join(", ", conflicts));
        }

        foreach (JsonProperty property in root.EnumerateObject())
        {
            JsonElement value = property.Value;
            switch (property.Name)
            {
                case "data-root" when !reload: options.DataRoot = String(property); break;
                case "exec-root" when !reload: options.ExecRoot = String(property); break;
                case "pidfile" when !reload: options.PidFile = String(property); break;
                case "group" when !reload: options.Group = String(property); break;
                case "hosts" when !reload: options.Hosts.AddRange(Strings(property)); break;
                case "log-level":
                    string level = String(property);
                    if (!LogLevels.Contains(level))
                    {
                        throw new ArgumentException($"invalid log level: {level}");
                    }

                    options.LogLevel = level;
                    break;
                case "debug":
                    if (Bool(property))
                    {
                        options.LogLevel = "debug";
                    }

                    break;
                case "labels": options.Labels = [.. Strings(property)]; break;
                case "live-restore": options.LiveRestore = Bool(property); break;
                case "default-runtime" when !reload: options.DefaultRuntime = String(property); break;
                case "exec-path" when !reload:
                    options.ExecPath = String(property) is "native" or "runtime" ? String(property)
                        : throw new ArgumentException($"invalid exec-path \"{String(property)}\": must be \"native\" or \"runtime\"");
                    break;
                case "runtimes" when !reload:
                    if (value.ValueKind != JsonValueKind.Object)
                    {
                        throw new ArgumentException("runtimes must be an object");
                    }

                    foreach (JsonProperty runtime in value.EnumerateObject())
                    {
                        if (runtime.Name == Berth.Runtime.OciRuntimeEntry.Runc)
                        {
                            throw new ArgumentException($"runtime name '{runtime.Name}' is reserved");
                        }

                        string path = runtime.Value.ValueKind == JsonValueKind.Object && runtime.Value.TryGetProperty("path", out JsonElement p) && p.ValueKind == JsonValueKind.String
                            ? p.GetString()!
                            : throw new ArgumentException($"runtime {runtime.Name}: a path is required");
                        List<string> runtimeArgs = runtime.Value.TryGetProperty("runtimeArgs", out JsonElement a)
                            ? a.ValueKind == JsonValueKind.Array && a.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String)
                                ? [.. a.EnumerateArray().Select(e => e.GetString()!)]
                                : throw new ArgumentException($"runtime {runtime.Name}: runtimeArgs must be a list of strings")
                            : [];
                        options.Runtimes[runtime.Name] = new Berth.Runtime.OciRuntimeEntry(path, runtimeArgs);
                    }

                    break;
                default:
                    options.Stored[property.Name] = value.GetRawText();
                    break;
            }
        }

        if (!reload && options.DefaultRuntime is { } name && name != Berth.Runtime.OciRuntimeEntry.Runc && !options.Runtimes.ContainsKey(name))
        {
            throw new ArgumentException($"default runtime {name} is not among the configured runtimes");
        }
    }

    private static string Text(JsonElement value) => value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText();

    private static string String(JsonProperty property) => property.Value.ValueKind == JsonValueKind.String
        ? property.Value.GetString()!
        : throw new ArgumentException($"{property.Name} must be a string");

    private static bool Bool(JsonProperty property) => property.Value.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw new ArgumentException($"{property.Name} must be a boolean"),
    };

    private static IEnumerable<string> Strings(JsonProperty property) => property.Value.ValueKind == JsonValueKind.Array
        ? [.. property.Value.EnumerateArray().Select(v => v.ValueKind == JsonValueKind.String ? v.GetString()! : throw new ArgumentException($"{property.Name} must be a list of strings"))]
        : throw new ArgumentException($"{property.Name} must be a list of strings");
}
