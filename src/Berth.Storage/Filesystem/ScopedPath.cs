using Berth.Primitives;

namespace Berth.Storage.Filesystem;

/// <summary>
/// Resolves a path inside a root directory the way the kernel would if the root were <c>/</c>:
/// symlinks are followed, but absolute targets and <c>..</c> are clamped to the root, so the answer can
/// never name a file outside it (the class of bug behind CVE-2021-30465 and tar breakouts).
/// </summary>
public static class ScopedPath
{
    private const int MaxSymlinks = 255;

    /// <summary>The host path for <paramref name="path"/> inside <paramref name="root"/>; the last component is followed only when <paramref name="followFinal"/>.</summary>
    public static string Resolve(string root, string path, bool followFinal = true)
    {
        string fullRoot = Path.GetFullPath(root).TrimEnd('/');
        var pending = new Stack<string>(Split(path).Reverse());
        var resolved = new List<string>();
        int links = 0;
        while (pending.Count > 0)
        {
            string part = pending.Pop();
            if (part == "..")
            {
                if (resolved.Count > 0)
                {
                    resolved.RemoveAt(resolved.Count - 1);
                }

                continue;
            }

            string candidate = Join(fullRoot, resolved, part);
            bool isFinal = pending.Count == 0;
            var info = new FileInfo(candidate);
            if (info.Exists || Directory.Exists(candidate) || info.LinkTarget is not null)
            {
                string? target = info.LinkTarget;
                if (target is not null && (!isFinal || followFinal))
                {
                    if (++links > MaxSymlinks)
                    {
                        throw EngineException.Invalid($"too many levels of symbolic links resolving {path}");
                    }

                    if (target.StartsWith('/'))
                    {
                        resolved.Clear();
                    }

                    foreach (string p in Split(target).Reverse())
                    {
                        pending.Push(p);
                    }

                    continue;
                }
            }

            resolved.Add(part);
        }

        return resolved.Count == 0 ? fullRoot : Join(fullRoot, resolved, null);
    }

    /// <summary>Normalises an archive or container path to clean relative components; rejects none, clamps <c>..</c> at the top.</summary>
    public static IEnumerable<string> Split(string path) =>
        path.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(p => p != ".");

    private static string Join(string root, List<string> parts, string? last)
    {
        string joined = root + "/" + string.Join('/', parts);
        if (last is not null)
        {
            joined = parts.Count == 0 ? root + "/" + last : joined + "/" + last;
        }

        return joined;
    }
}
