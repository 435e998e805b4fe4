using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Berth.Api.Types;
using Berth.Api.Client;
using Berth.Cli.Formatting;
using Berth.Cli.Options;
using Berth.Cli.Parsing;

namespace Berth.Cli.Commands;

/// <summary><c>pull</c>, <c>push</c>, <c>login</c> and <c>logout</c>; credentials live in Docker's config.json format.</summary>
internal static class RegistryCommands
{
    private const string DockerHubServer = "https://index.docker.io/v1/";

    public static CommandSpec Pull(string name, string[] aliasPaths) => new()
    {
        Name = name,
        AliasPaths = aliasPaths,
        Usage = "[OPTIONS] NAME[:TAG|@DIGEST]",
        Summary = "Download an image from a registry",
        MinArgs = 1,
        MaxArgs = 1,
        DefineFlags = f => f
            .Bool("all-tags", 'a', "Download all tagged images in the repository")
            .Bool("disable-content-trust", null, "Skip image verification", defaultValue: true)
            .String("platform", null, "Set platform if server is multi-platform capable")
            .Bool("quiet", 'q', "Suppress verbose output"),
        Handler = PullAsync,
    };

    public static CommandSpec Push(string name, string[] aliasPaths) => new()
    {
        Name = name,
        AliasPaths = aliasPaths,
        Usage = "[OPTIONS] NAME[:TAG]",
        Summary = "Upload an image to a registry",
        MinArgs = 1,
        MaxArgs = 1,
        DefineFlags = f => f
            .Bool("all-tags", 'a', "Push all tags of an image to the repository")
            .Bool("disable-content-trust", null, "Skip image signing", defaultValue: true)
            .Bool("quiet", 'q', "Suppress verbose output"),
        Handler = PushAsync,
    };

    public static CommandSpec Login() => new()
    {
        Name = "login",
        Usage = "[OPTIONS] [SERVER]",
        Summary = "Authenticate to a registry",
        MaxArgs = 1,
        DefineFlags = f => f
            .String("password", 'p', "Password or Personal Access Token (PAT)")
            .Bool("password-stdin", null, "Take the Password or Personal Access Token (PAT) from stdin")
            .String("username", 'u', "Username"),
        Handler = LoginAsync,
    };

    public static CommandSpec Search() => new()
    {
        Name = "search",
        Usage = "[OPTIONS] TERM",
        Summary = "Search for images in a registry",
        MinArgs = 1,
        MaxArgs = 1,
        DefineFlags = f => f
            .List("filter", 'f', "Filter output based on conditions provided", typeName: "filter")
            .String("format", null, "Pretty-print search using a Go template")
            .Int("limit", null, "Max number of search results", defaultValue: 0)
            .Bool("no-trunc", null, "Don't truncate output"),
        Handler = SearchAsync,
    };

    private static async Task<int> SearchAsync(CommandContext ctx, ParsedArgs p)
    {
        ApiFilters filters = FilterFlags.Parse(p);
        long limit = p.Int("limit");
        IReadOnlyList<ImageSearchResult> results = await ctx.Client.SearchImagesAsync(p.Positionals[0], limit > 0 ? (int)limit : null, filters, ctx.Cancellation).ConfigureAwait(false);
        string format = ListFormat.Resolve(p.String("format"), SearchRow.DefaultTable);
        bool truncate = !p.Bool("no-trunc");
        await ctx.Out.WriteAsync(ListFormat.Render(format, results.Select(r => (object?)new SearchRow(r, truncate)), SearchRow.Header)).ConfigureAwait(false);
        return 0;
    }

    public static CommandSpec Logout() => new()
    {
        Name = "logout",
        Usage = "[SERVER]",
        Summary = "Log out from a registry",
        MaxArgs = 1,
        Handler = LogoutAsync,
    };

    private static async Task<int> PullAsync(CommandContext ctx, ParsedArgs p)
    {
        string reference = p.Positionals[0];
        (string name, string? tag) = SplitTag(reference);
        bool all = p.Bool("all-tags");
        if (all && (tag is not null || reference.Contains('@', StringComparison.Ordinal)))
        {
            throw new StatusException(1, "tag can't be used with --all-tags/-a");
        }

        string auth = RegistryAuthFor(ctx, RegistryOf(name));
        bool quiet = p.Bool("quiet");
        // Without a tag the daemon pulls every tag (--all-tags); a plain name means :latest, as docker says.
        if (!all && tag is null && !reference.Contains('@', StringComparison.Ordinal) && !quiet)
        {
            await ctx.Out.WriteLineAsync("Using default tag: latest").ConfigureAwait(false);
        }

        await ShowAsync(ctx, ctx.Client.PullImageAsync(name, all ? null : tag ?? (reference.Contains('@', StringComparison.Ordinal) ? null : "latest"), p.String("platform"), auth, ctx.Cancellation), quiet).ConfigureAwait(false);
        if (quiet)
        {
            await ctx.Out.WriteLineAsync(Canonical(reference)).ConfigureAwait(false);
        }

        return 0;
    }

    private static async Task<int> PushAsync(CommandContext ctx, ParsedArgs p)
    {
        (string name, string? tag) = SplitTag(p.Positionals[0]);
        bool all = p.Bool("all-tags");
        if (all && tag is not null)
        {
            throw new StatusException(1, "tag can't be used with --all-tags/-a");
        }

        string auth = RegistryAuthFor(ctx, RegistryOf(name));
        if (!all && tag is null && !p.Bool("quiet"))
        {
            await ctx.Out.WriteLineAsync("Using default tag: latest").ConfigureAwait(false);
        }

        // Without a tag the daemon pushes every local tag of the repository (--all-tags).
        await ShowAsync(ctx, ctx.Client.PushImageAsync(name, all ? null : tag ?? "latest", auth, ctx.Cancellation), p.Bool("quiet")).ConfigureAwait(false);
        return 0;
    }

    private static async Task<int> LoginAsync(CommandContext ctx, ParsedArgs p)
    {
        string server = p.Positionals.Count == 1 ? p.Positionals[0] : DockerHubServer;
        string? username = p.String("username");
        string? password = p.String("password");
        if (p.Bool("password-stdin"))
        {
            if (password is not null)
            {
                throw new StatusException(1, "--password and --password-stdin are mutually exclusive");
            }

            if (string.IsNullOrEmpty(username))
            {
                throw new StatusException(1, "Must provide --username with --password-stdin");
            }

            using var reader = new StreamReader(ctx.OpenStdin(), Encoding.UTF8);
            password = (await reader.ReadToEndAsync(ctx.Cancellation).ConfigureAwait(false)).TrimEnd('\r', '\n');
        }

        if (string.IsNullOrEmpty(username) || string.IsNullOrEmpty(password))
        {
            throw new StatusException(1, "Error: Cannot perform an interactive login from a non TTY device: give --username and --password or --password-stdin");
        }

        AuthResponse response = await ctx.Client.LoginAsync(new AuthConfig { Username = username, Password = password, ServerAddress = server }, ctx.Cancellation).ConfigureAwait(false);
        JsonObject config = ReadConfig(ctx);
        JsonObject auths = config["auths"] as JsonObject ?? [];
        config["auths"] = auths;
        auths[ConfigKey(server)] = new JsonObject { ["auth"] = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{username}:{password}")) };
        WriteConfig(ctx, config);
        await ctx.Out.WriteLineAsync(response.Status.Length > 0 ? response.Status : "Login Succeeded").ConfigureAwait(false);
        return 0;
    }

    private static async Task<int> LogoutAsync(CommandContext ctx, ParsedArgs p)
    {
        string server = p.Positionals.Count == 1 ? p.Positionals[0] : DockerHubServer;
        string key = ConfigKey(server);
        JsonObject config = ReadConfig(ctx);
        if (config["auths"] is JsonObject auths && auths.Remove(key))
        {
            WriteConfig(ctx, config);
            await ctx.Out.WriteLineAsync($"Removing login credentials for {key}").ConfigureAwait(false);
        }
        else
        {
            await ctx.Out.WriteLineAsync($"Not logged in to {key}").ConfigureAwait(false);
        }

        return 0;
    }

    /// <summary>
    /// The pull that <c>run</c> and <c>create</c> do for a missing image (or with <c>--pull=always</c>), as docker does:
    /// progress on stderr, so a container's own output on stdout stays clean.
    /// </summary>
    internal static async Task PullForRunAsync(CommandContext ctx, string reference, string? platform)
    {
        (string name, string? tag) = SplitTag(reference);
        string auth = RegistryAuthFor(ctx, RegistryOf(name));
        await ShowAsync(ctx, ctx.Client.PullImageAsync(name, tag ?? (reference.Contains('@', StringComparison.Ordinal) ? null : "latest"), platform, auth, ctx.Cancellation), quiet: false, ctx.Err).ConfigureAwait(false);
    }

    private static async Task ShowAsync(CommandContext ctx, IAsyncEnumerable<ProgressMessage> messages, bool quiet, TextWriter? output = null)
    {
        output ??= ctx.Out;
        // Bars redrawn in place only when the progress goes to a terminal (pull for run writes it to stderr).
        bool terminal = ReferenceEquals(output, ctx.Out) ? ctx.StdoutIsTerminal : ctx.StdoutIsTerminal && !Console.IsErrorRedirected;
        var renderer = new ProgressRenderer(terminal, terminal ? TerminalWidth() : 200);
        await foreach (ProgressMessage message in messages.ConfigureAwait(false))
        {
            string? error = message.Error ?? message.ErrorDetail?.Message;
            if (!string.IsNullOrEmpty(error))
            {
                await ctx.Out.FlushAsync(ctx.Cancellation).ConfigureAwait(false);
                throw new StatusException(1, error);
            }

            if (!quiet && renderer.Render(message) is { Length: > 0 } line)
            {
                await output.WriteAsync(line).ConfigureAwait(false);
                await output.FlushAsync(ctx.Cancellation).ConfigureAwait(false);
            }
        }
    }

    private static int TerminalWidth()
    {
        try
        {
            return Console.WindowWidth > 0 ? Console.WindowWidth : 200;
        }
        catch (IOException)
        {
            return 200;
        }
    }

    /// <summary>NAME[:TAG] → (NAME, TAG); a digest stays in the name (the daemon takes NAME@DIGEST as fromImage).</summary>
    internal static (string Name, string? Tag) SplitTag(string reference)
    {
        if (reference.Contains('@', StringComparison.Ordinal))
        {
            return (reference, null);
        }

        int colon = reference.LastIndexOf(':');
        return colon > reference.LastIndexOf('/') ? (reference[..colon], reference[(colon + 1)..]) : (reference, null);
    }

    /// <summary>The registry of a name, as Docker splits it: a first component with '.' or ':' (or localhost) is a host.</summary>
    internal static string RegistryOf(string name)
    {
        int slash = name.IndexOf('/', StringComparison.Ordinal);
        if (slash > 0)
        {
            string first = name[..slash];
            if (first.Contains('.', StringComparison.Ordinal) || first.Contains(':', StringComparison.Ordinal) || first == "localhost")
            {
                return first is "docker.io" or "index.docker.io" ? DockerHubServer : first;
            }
        }

        return DockerHubServer;
    }

    private static string Canonical(string reference)
    {
        string registry = RegistryOf(reference);
        if (registry != DockerHubServer)
        {
            return reference.Contains(':', StringComparison.Ordinal) && SplitTag(reference).Tag is not null || reference.Contains('@', StringComparison.Ordinal) ? reference : reference + ":latest";
        }

        string path = reference.StartsWith("docker.io/", StringComparison.Ordinal) ? reference["docker.io/".Length..] : reference;
        if (!SplitTag(path).Name.Contains('/', StringComparison.Ordinal))
        {
            path = "library/" + path;
        }

        return "docker.io/" + (SplitTag(path).Tag is null && !path.Contains('@', StringComparison.Ordinal) ? path + ":latest" : path);
    }

    /// <summary>config.json's key: Docker Hub is its v1 URL, others their host[:port].</summary>
    internal static string ConfigKey(string server)
    {
        string host = server;
        int scheme = host.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0)
        {
            host = host[(scheme + 3)..];
        }

        host = host.Split('/')[0];
        return host is "" or "docker.io" or "index.docker.io" or "registry-1.docker.io" ? DockerHubServer : host;
    }

    /// <summary>X-Registry-Auth for a registry: the stored credentials as base64url AuthConfig JSON, or empty.</summary>
    private static string RegistryAuthFor(CommandContext ctx, string server)
    {
        JsonObject config = ReadConfig(ctx);
        if (config["auths"] is not JsonObject auths || auths[ConfigKey(server)] is not JsonObject entry || entry["auth"]?.GetValue<string>() is not { Length: > 0 } stored)
        {
            return "";
        }

        string decoded = Encoding.UTF8.GetString(Convert.FromBase64String(stored));
        int colon = decoded.IndexOf(':', StringComparison.Ordinal);
        var auth = new AuthConfig { Username = decoded[..Math.Max(0, colon)], Password = colon >= 0 ? decoded[(colon + 1)..] : "", ServerAddress = server };
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(auth, ApiJsonContext.Default.AuthConfig);
        return Convert.ToBase64String(json).Replace('+', '-').Replace('/', '_');
    }

    private static string ConfigPath(CommandContext ctx)
    {
        string dir = ctx.Environment("BERTH_CONFIG") is { Length: > 0 } env ? env : ctx.Globals.ConfigDir ?? "~/.berth";
        if (dir.StartsWith('~'))
        {
            dir = (ctx.Environment("HOME") ?? "/root") + dir[1..];
        }

        return Path.Combine(dir, "config.json");
    }

    private static JsonObject ReadConfig(CommandContext ctx)
    {
        string path = ConfigPath(ctx);
        if (!File.Exists(path))
        {
            return [];
        }

        try
        {
            return JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? [];
        }
        catch (JsonException e)
        {
            throw new StatusException(1, $"loading config file {path}: {e.Message}");
        }
    }

    /// <summary>Written whole to a temp file and renamed, mode 0600: it holds passwords.</summary>
    private static void WriteConfig(CommandContext ctx, JsonObject config)
    {
        string path = ConfigPath(ctx);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        string temp = path + ".tmp";
        using (var file = new FileStream(temp, new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite }))
        {
            using var writer = new Utf8JsonWriter(file, new JsonWriterOptions { Indented = true });
            config.WriteTo(writer);
        }

        File.Move(temp, path, overwrite: true);
    }
}
