using System.Formats.Tar;
using System.Text.RegularExpressions;

namespace Berth.Api.Client;

/// <summary>
/// The build context as POST /build wants it: the context directory as a tar, minus what .dockerignore
/// excludes, with the Dockerfile added under a generated name when it lives outside the context.
/// Shared by <c>berth build</c> and <c>berth compose build</c>.
/// </summary>
public static class BuildContextArchive
{
    /// <summary>
    /// The context of <paramref name="root"/> as a stream the request reads while a background task writes the tar
    /// (as Docker's CLI sends it: chunked, never whole in memory). Dispose it when the request is over.
    /// </summary>
    public static StreamedBuildContext Stream(string root, string dockerfile, CancellationToken cancellationToken) =>
        new(root, dockerfile, NameInContext(root, dockerfile), cancellationToken);

    /// <summary>Writes the context of <paramref name="root"/> into <paramref name="archive"/>; returns the Dockerfile's name inside it.</summary>
    public static async Task<string> WriteAsync(Stream archive, string root, string dockerfile, CancellationToken cancellationToken)
    {
        string dockerfileName = NameInContext(root, dockerfile);
        await WriteAsync(archive, root, dockerfile, dockerfileName, cancellationToken).ConfigureAwait(false);
        return dockerfileName;
    }

    /// <summary>The Dockerfile's name inside the context: its relative path, or a generated one when it lives outside.</summary>
    private static string NameInContext(string root, string dockerfile)
    {
        string relative = Path.GetRelativePath(root, dockerfile);
        return IsOutside(relative) ? ".dockerfile." + Guid.NewGuid().ToString("N")[..12] : relative;
    }

    private static bool IsOutside(string relative) => relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative);

    internal static async Task WriteAsync(Stream archive, string root, string dockerfile, string dockerfileName, CancellationToken cancellationToken)
    {
        ContextIgnore ignore = ContextIgnore.Load(Path.Combine(root, ".dockerignore"));
        await using var writer = new TarWriter(archive, TarEntryFormat.Pax, leaveOpen: true);
        await AddTreeAsync(writer, root, "", ignore, dockerfileName, cancellationToken).ConfigureAwait(false);
        if (IsOutside(Path.GetRelativePath(root, dockerfile)))
        {
            await writer.WriteEntryAsync(dockerfile, dockerfileName, cancellationToken).ConfigureAwait(false);
        }
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
public sealed class ContextIgnore
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
