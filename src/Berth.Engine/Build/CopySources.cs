using System.Globalization;
using System.Text.RegularExpressions;
using Berth.Build;
using Berth.Interop;
using Berth.Storage.Filesystem;

namespace Berth.Engine.Build;

/// <summary>COPY/ADD sources: wildcard matching inside a root that nothing can escape, and the copy into a layer's staging tree.</summary>
internal static class CopySources
{
    public static bool HasWildcard(string pattern) => pattern.AsSpan().IndexOfAny("*?[") >= 0;

    /// <summary>
    /// The entries <paramref name="pattern"/> names inside <paramref name="root"/> (Go filepath.Match per path
    /// component), as (name as written, host path). Symlinks are followed inside the root only: <c>..</c> and absolute
    /// targets are clamped to it, so a context cannot make the builder read outside it.
    /// </summary>
    public static IReadOnlyList<(string Name, string Path)> Resolve(string root, string pattern)
    {
        string relative = pattern.Replace('\\', '/').TrimStart('/');
        if (!HasWildcard(relative))
        {
            string path = ScopedPath.Resolve(root, relative.Length == 0 ? "." : relative);
            return FileStatus.TryRead(path) is null ? [] : [(relative.TrimEnd('/') is { Length: > 0 } name ? name : ".", path)];
        }

        var matches = new List<(string Name, string Path)> { ("", ScopedPath.Resolve(root, ".")) };
        foreach (string part in relative.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            var next = new List<(string Name, string Path)>();
            foreach ((string name, string _) in matches)
            {
                if (!HasWildcard(part))
                {
                    string candidate = name.Length == 0 ? part : name + "/" + part;
                    string path = ScopedPath.Resolve(root, candidate);
                    if (FileStatus.TryRead(path) is not null)
                    {
                        next.Add((candidate, path));
                    }

                    continue;
                }

                string directory = ScopedPath.Resolve(root, name.Length == 0 ? "." : name);
                if (!Directory.Exists(directory))
                {
                    continue;
                }

                Regex regex = GlobRegex(part);
                foreach (string entry in Directory.EnumerateFileSystemEntries(directory).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal))
                {
                    if (regex.IsMatch(entry))
                    {
                        string candidate = name.Length == 0 ? entry : name + "/" + entry;
                        next.Add((candidate, ScopedPath.Resolve(root, candidate)));
                    }
                }
            }

            matches = next;
        }

        return matches;
    }

    /// <summary>Go's filepath.Match for one component: <c>*</c>, <c>?</c>, <c>[...]</c> (with <c>^</c> negation), <c>\</c> escapes.</summary>
    public static Regex GlobRegex(string pattern)
    {
        var regex = new System.Text.StringBuilder("^");
        for (int i = 0; i < pattern.Length; i++)
        {
            char c = pattern[i];
            switch (c)
            {
                case '*':
                    regex.Append("[^/]*");
                    break;
                case '?':
                    regex.Append("[^/]");
                    break;
                case '[':
                    {
                        int end = pattern.IndexOf(']', i + 1);
                        if (end < 0)
                        {
                            throw new DockerfileException("syntax error in pattern");
                        }

                        string set = pattern[(i + 1)..end];
                        regex.Append('[').Append(set.StartsWith('^') ? "^" + Regex.Escape(set[1..]).Replace("\\-", "-", StringComparison.Ordinal) : Regex.Escape(set).Replace("\\-", "-", StringComparison.Ordinal)).Append(']');
                        i = end;
                        break;
                    }

                case '\\' when i + 1 < pattern.Length:
                    regex.Append(Regex.Escape(pattern[++i].ToString()));
                    break;
                default:
                    regex.Append(Regex.Escape(c.ToString()));
                    break;
            }
        }

        return new Regex(regex.Append('$').ToString(), RegexOptions.CultureInvariant);
    }

    /// <summary>A local file ADD unpacks: gzip, or a tar (the "ustar" magic at 257).</summary>
    public static bool IsArchive(string path)
    {
        Span<byte> header = stackalloc byte[262];
        using FileStream file = File.OpenRead(path);
        int read = file.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
        return (read >= 2 && header[0] == 0x1f && header[1] == 0x8b)
            || (read >= 262 && header[257..262].SequenceEqual("ustar"u8));
    }

    /// <summary>--chown's user[:group], names looked up in the image's /etc/passwd and /etc/group.</summary>
    public static (int Uid, int Gid) Owner(string spec, IReadOnlyList<string> layers)
    {
        string[] parts = spec.Split(':', 2);
        int uid = Id(parts[0], "etc/passwd", layers, out int primaryGroup);
        int gid = parts.Length == 2 ? Id(parts[1], "etc/group", layers, out _) : (int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out _) ? uid : primaryGroup);
        return (uid, gid);
    }

    private static int Id(string name, string file, IReadOnlyList<string> layers, out int group)
    {
        group = 0;
        if (int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out int number))
        {
            group = number;
            return number;
        }

        foreach (string layer in layers)
        {
            string path = Path.Combine(layer, file);
            if (!File.Exists(path))
            {
                continue;
            }

            foreach (string line in File.ReadLines(path))
            {
                string[] fields = line.Split(':');
                if (fields.Length >= 3 && fields[0] == name)
                {
                    if (fields.Length >= 4)
                    {
                        _ = int.TryParse(fields[3], NumberStyles.None, CultureInfo.InvariantCulture, out group);
                    }

                    return int.Parse(fields[2], CultureInfo.InvariantCulture);
                }
            }

            break;
        }

        throw new DockerfileException($"unable to convert uid/gid chown string to host mapping: can't find uid for user {name}: no such user: {name}");
    }

    /// <summary>Copies into the staging tree of a new layer: modes and times kept, owners root's or --chown's, --chmod applied.</summary>
    public sealed class Copier(string staging, IReadOnlyList<string> imageLayers, (int Uid, int Gid)? owner, int? mode)
    {
        /// <summary>Creates <paramref name="directory"/> (absolute in the image) and its parents, each with the mode and owner the image has for it.</summary>
        public void EnsureDirectory(string directory)
        {
            string relative = "";
            foreach (string part in directory.Split('/', StringSplitOptions.RemoveEmptyEntries))
            {
                relative = relative.Length == 0 ? part : relative + "/" + part;
                string path = Path.Combine(staging, relative);
                if (Directory.Exists(path))
                {
                    continue;
                }

                Directory.CreateDirectory(path);
                FileStatus? existing = ImageDirectoryStatus(relative);
                File.SetUnixFileMode(path, (UnixFileMode)(existing?.Permissions & 0xFFF ?? 0x1ED));
                if (existing is { } status)
                {
                    FileOwnership.Change(path, (int)status.Uid, (int)status.Gid);
                }
                else if (owner is { } o)
                {
                    FileOwnership.Change(path, o.Uid, o.Gid);
                }
            }
        }

        private FileStatus? ImageDirectoryStatus(string relative)
        {
            foreach (string layer in imageLayers)
            {
                if (FileStatus.TryRead(Path.Combine(layer, relative)) is { Type: FileStatus.S_IFDIR } status)
                {
                    return status;
                }
            }

            return null;
        }

        public void CopyContents(string sourceDirectory, string destination)
        {
            EnsureDirectory(destination);
            foreach (string child in Directory.EnumerateFileSystemEntries(sourceDirectory).Order(StringComparer.Ordinal))
            {
                CopyEntry(child, destination + "/" + Path.GetFileName(child));
            }
        }

        /// <summary>Copies one entry (a directory with everything in it) to <paramref name="destination"/>, absolute in the image.</summary>
        public void CopyEntry(string source, string destination)
        {
            FileStatus status = FileStatus.TryRead(source) ?? throw new FileNotFoundException(source);
            string target = Path.Combine(staging, destination.TrimStart('/'));
            if (Directory.Exists(target) && status.Type != FileStatus.S_IFDIR)
            {
                Directory.Delete(target, recursive: true);
            }

            switch (status.Type)
            {
                case FileStatus.S_IFDIR:
                    Directory.CreateDirectory(target);
                    foreach (string child in Directory.EnumerateFileSystemEntries(source).Order(StringComparer.Ordinal))
                    {
                        CopyEntry(child, destination + "/" + Path.GetFileName(child));
                    }

                    break;
                case FileStatus.S_IFREG:
                    File.Copy(source, target, overwrite: true);
                    break;
                case FileStatus.S_IFLNK:
                    if (File.Exists(target) || FileStatus.TryRead(target) is not null)
                    {
                        File.Delete(target);
                    }

                    File.CreateSymbolicLink(target, new FileInfo(source).LinkTarget ?? "");
                    break;
                default:
                    // Devices, FIFOs and sockets are not copied from a build context.
                    return;
            }

            if (status.Type != FileStatus.S_IFLNK)
            {
                File.SetUnixFileMode(target, (UnixFileMode)(mode ?? (int)(status.Permissions & 0xFFF)));
                if (status.Type == FileStatus.S_IFREG)
                {
                    File.SetLastWriteTimeUtc(target, status.Modified.UtcDateTime);
                }
            }

            (int uid, int gid) = owner ?? (0, 0);
            FileOwnership.ChangeLink(target, uid, gid);
        }
    }
}
