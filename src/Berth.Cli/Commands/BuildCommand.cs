using System.Formats.Tar;
using System.Text.RegularExpressions;
using Berth.Api.Client;
using Berth.Api.Types;
using Berth.Cli.Parsing;

namespace Berth.Cli.Commands;

/// <summary><c>berth build</c>: sends the context directory as a tar (minus .dockerignore's exclusions) to POST /build.</summary>
internal static class BuildCommand
{
    public static CommandSpec Create(string name, string[] aliasPaths) => new()
    {
        Name = name,
        AliasPaths = aliasPaths,
        Usage = "[OPTIONS] PATH | -",
        Summary = "Build an image from a Dockerfile",
        MinArgs = 1,
        MaxArgs = 1,
        DefineFlags = f => f
            .List("tag", 't', "Name and optionally a tag in the \"name:tag\" format")
            .String("file", 'f', "Name of the Dockerfile (Default is \"PATH/Dockerfile\")")
            .List("build-arg", null, "Set build-time variables")
            .List("label", null, "Set metadata for an image")
            .Bool("no-cache", null, "Do not use cache when building the image")
            .String("target", null, "Set the target build stage to build.")
            .Bool("quiet", 'q', "Suppress the build output and print image ID on success")
            .String("iidfile", null, "Write the image ID to the file"),
        Handler = BuildAsync,
    };

    private static async Task<int> BuildAsync(CommandContext ctx, ParsedArgs p)
    {
        string contextPath = p.Positionals[0];
        string? file = p.String("file");
        string dockerfileName = "Dockerfile";
        using var archive = new MemoryStream();
        if (contextPath == "-")
        {
            // A Dockerfile on stdin and no context, as `docker build - < Dockerfile`.
            using var reader = new StreamReader(ctx.OpenStdin());
            string text = await reader.ReadToEndAsync(ctx.Cancellation).ConfigureAwait(false);
            await using var writer = new TarWriter(archive, TarEntryFormat.Pax, leaveOpen: true);
            var entry = new PaxTarEntry(TarEntryType.RegularFile, dockerfileName) { DataStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text)) };
            await writer.WriteEntryAsync(entry, ctx.Cancellation).ConfigureAwait(false);
        }
        else
        {
            if (!Directory.Exists(contextPath))
            {
                throw new StatusException(1, $"unable to prepare context: path \"{contextPath}\" not found");
            }

            string root = Path.GetFullPath(contextPath);
            string dockerfile = file is null ? Path.Combine(root, "Dockerfile") : Path.GetFullPath(file);
            if (!File.Exists(dockerfile))
            {
                throw new StatusException(1, $"unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat {dockerfile}: no such file or directory");
            }

            string relative = Path.GetRelativePath(root, dockerfile);
            bool outside = relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative);
            dockerfileName = outside ? ".dockerfile." + Guid.NewGuid().ToString("N")[..12] : relative;
            ContextIgnore ignore = ContextIgnore.Load(Path.Combine(root, ".dockerignore"));
            await using (var writer = new TarWriter(archive, TarEntryFormat.Pax, leaveOpen: true))
            {
                await AddTreeAsync(writer, root, "", ignore, dockerfileName, ctx.Cancellation).ConfigureAwait(false);
                if (outside)
                {
                    await writer.WriteEntryAsync(dockerfile, dockerfileName, ctx.Cancellation).ConfigureAwait(false);
                }
            }
        }

        archive.Position = 0;
        var options = new BuildImageOptions
        {
            Tags = p.List("tag"),
            Dockerfile = dockerfileName,
            BuildArgs = Pairs(p.List("build-arg"), ctx),
            Labels = Pairs(p.List("label"), ctx),
            NoCache = p.Bool("no-cache"),
            Target = p.String("target"),
            Quiet = p.Bool("quiet"),
        };
        string? id = null;
        await foreach (ProgressMessage message in ctx.Client.BuildImageAsync(archive, options, ctx.Cancellation).ConfigureAwait(false))
        {
            string? error = message.Error ?? message.ErrorDetail?.Message;
            if (!string.IsNullOrEmpty(error))
            {
                await ctx.Out.FlushAsync(ctx.Cancellation).ConfigureAwait(false);
                throw new StatusException(1, error);
            }

            if (message.Aux is { } aux && aux.TryGetValue("ID", out string? auxId))
            {
                id = auxId;
            }

            if (message.Stream is { } stream)
            {
                await ctx.Out.WriteAsync(stream).ConfigureAwait(false);
                if (options.Quiet)
                {
                    id = stream.Trim();
                }
            }
        }

        if (p.String("iidfile") is { Length: > 0 } iidfile && id is not null)
        {
            await File.WriteAllTextAsync(iidfile, id, ctx.Cancellation).ConfigureAwait(false);
        }

        return 0;
    }

    /// <summary>KEY=VALUE, or KEY alone taking the value from the environment (as docker does for --build-arg).</summary>
    private static Dictionary<string, string> Pairs(IReadOnlyList<string> values, CommandContext ctx)
    {
        var pairs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string value in values)
        {
            int equals = value.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                pairs[value[..equals]] = value[(equals + 1)..];
            }
            else if (ctx.Environment(value) is { } fromEnvironment)
            {
                pairs[value] = fromEnvironment;
            }
        }

        return pairs;
    }

    private static async Task AddTreeAsync(TarWriter writer, string directory, string prefix, ContextIgnore ignore, string dockerfileName, CancellationToken cancellationToken)
    {
        foreach (string path in Directory.EnumerateFileSystemEntries(directory).Order(StringComparer.Ordinal))
        {
            string name = prefix + Path.GetFileName(path);
            // The Dockerfile and .dockerignore are always sent: the daemon needs the former, as Docker's CLI does.
            if (ignore.Excludes(name) && name != dockerfileName && name != ".dockerignore")
            {
                // An excluded directory may still hold an exception (`!dir/keep`): look inside it.
                if (Directory.Exists(path) && !File.GetAttributes(path).HasFlag(FileAttributes.ReparsePoint) && ignore.HasExceptions)
                {
                    await AddTreeAsync(writer, path, name + "/", ignore, dockerfileName, cancellationToken).ConfigureAwait(false);
                }

                continue;
            }

            await writer.WriteEntryAsync(path, name, cancellationToken).ConfigureAwait(false);
            if (Directory.Exists(path) && !File.GetAttributes(path).HasFlag(FileAttributes.ReparsePoint))
            {
                await AddTreeAsync(writer, path, name + "/", ignore, dockerfileName, cancellationToken).ConfigureAwait(false);
            }
        }
    }
}

/// <summary>
/// .dockerignore: one pattern a line (Go filepath.Match, plus <c>**</c> for any number of directories), <c>#</c>
/// comments, <c>!</c> exceptions; the last matching line wins. A pattern matching a directory excludes what is in it.
/// </summary>
internal sealed class ContextIgnore
{
    private readonly List<(Regex Pattern, bool Exception)> _rules = [];

    public bool HasExceptions => _rules.Any(r => r.Exception);

    public static ContextIgnore Load(string path)
    {
        var ignore = new ContextIgnore();
        if (!File.Exists(path))
        {
            return ignore;
        }

        foreach (string raw in File.ReadAllLines(path))
        {
            string line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            bool exception = line.StartsWith('!');
            string pattern = (exception ? line[1..] : line).Trim().Replace('\\', '/');
            pattern = string.Join('/', pattern.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(s => s != "."));
            if (pattern.Length > 0)
            {
                ignore._rules.Add((ToRegex(pattern), exception));
            }
        }

        return ignore;
    }

    public bool Excludes(string relativePath)
    {
        bool excluded = false;
        foreach ((Regex pattern, bool exception) in _rules)
        {
            if (pattern.IsMatch(relativePath))
            {
                excluded = !exception;
            }
        }

        return excluded;
    }

    private static Regex ToRegex(string pattern)
    {
        var regex = new System.Text.StringBuilder("^");
        for (int i = 0; i < pattern.Length; i++)
        {
            char c = pattern[i];
            if (c == '*' && i + 1 < pattern.Length && pattern[i + 1] == '*')
            {
                // "**/" matches any number of directories, "**" at the end anything.
                i++;
                if (i + 1 < pattern.Length && pattern[i + 1] == '/')
                {
                    i++;
                    regex.Append("(.*/)?");
                }
                else
                {
                    regex.Append(".*");
                }
            }
            else if (c == '*')
            {
                regex.Append("[^/]*");
            }
            else if (c == '?')
            {
                regex.Append("[^/]");
            }
            else if (c == '[')
            {
                int end = pattern.IndexOf(']', i + 1);
                if (end < 0)
                {
                    regex.Append(@"\[");
                    continue;
                }

                string set = pattern[(i + 1)..end];
                regex.Append('[').Append(set.StartsWith('^') ? "^" + set[1..].Replace("\\", "\\\\", StringComparison.Ordinal) : set.Replace("\\", "\\\\", StringComparison.Ordinal)).Append(']');
                i = end;
            }
            else
            {
                regex.Append(Regex.Escape(c.ToString()));
            }
        }

        // A match on a directory covers everything under it.
        return new Regex(regex.Append("(/.*)?$").ToString(), RegexOptions.CultureInvariant);
    }
}
