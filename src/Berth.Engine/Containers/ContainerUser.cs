using Berth.Primitives;
using Berth.Storage.Filesystem;

namespace Berth.Engine.Containers;

/// <summary>
/// A container's <c>--user</c>, resolved the way runc's libcontainer/user does for Docker: names and numbers against
/// the image's own /etc/passwd and /etc/group (read inside the rootfs, never the host's), plus supplementary groups.
/// </summary>
public static class ContainerUser
{
    /// <summary>Resolves <c>user[:group]</c> (names or numbers) to a uid and primary gid.</summary>
    public static (uint Uid, uint Gid) Resolve(string rootfs, string? user)
    {
        if (string.IsNullOrEmpty(user))
        {
            return (0, 0);
        }

        string[] parts = user.Split(':', 2);
        uint? gid;
        uint uid;
        if (uint.TryParse(parts[0], out uint numeric))
        {
            uid = numeric;
            gid = Lookup(rootfs, "etc/passwd", e => e[2] == parts[0], 3);
        }
        else
        {
            uid = Lookup(rootfs, "etc/passwd", e => e[0] == parts[0], 2)
                ?? throw EngineException.Invalid($"unable to find user {parts[0]}: no matching entries in passwd file");
            gid = Lookup(rootfs, "etc/passwd", e => e[0] == parts[0], 3);
        }

        if (parts.Length == 2)
        {
            gid = uint.TryParse(parts[1], out uint g) ? g
                : Lookup(rootfs, "etc/group", e => e[0] == parts[1], 2) ?? throw EngineException.Invalid($"unable to find group {parts[1]}: no matching entries in group file");
        }

        return (uid, gid ?? 0);
    }

    /// <summary>
    /// The groups whose member list in the image's /etc/group names the user (when no group was given explicitly), then
    /// <paramref name="groupAdd"/> (names or numbers), without the primary group.
    /// </summary>
    public static IReadOnlyList<uint> SupplementaryGroups(string rootfs, string? user, uint uid, uint gid, IReadOnlyList<string>? groupAdd)
    {
        var groups = new List<uint>();
        string name = string.IsNullOrEmpty(user) ? "root" : user.Split(':', 2)[0];
        if (uint.TryParse(name, out _))
        {
            name = LookupName(rootfs, uid) ?? name;
        }

        if (string.IsNullOrEmpty(user) || !user.Contains(':', StringComparison.Ordinal))
        {
            foreach (string[] entry in Entries(rootfs, "etc/group"))
            {
                if (entry.Length > 3 && entry[3].Split(',').Contains(name) && uint.TryParse(entry[2], out uint member))
                {
                    groups.Add(member);
                }
            }
        }

        foreach (string group in groupAdd ?? [])
        {
            groups.Add(uint.TryParse(group, out uint number) ? number
                : Lookup(rootfs, "etc/group", e => e[0] == group, 2) ?? throw EngineException.Invalid($"Unable to find group {group}: no matching entries in group file"));
        }

        return groups.Where(g => g != gid).Distinct().ToList();
    }

    /// <summary>The home directory of <paramref name="uid"/> in the image's /etc/passwd, "/" when it has no entry (runc's default).</summary>
    public static string Home(string rootfs, uint uid)
    {
        string number = uid.ToString(System.Globalization.CultureInfo.InvariantCulture);
        string[]? entry = Entries(rootfs, "etc/passwd").FirstOrDefault(e => e.Length > 5 && e[2] == number);
        return entry is not null && entry[5].Length > 0 ? entry[5] : "/";
    }

    private static string? LookupName(string rootfs, uint uid) =>
        Entries(rootfs, "etc/passwd").FirstOrDefault(e => e.Length > 2 && e[2] == uid.ToString(System.Globalization.CultureInfo.InvariantCulture))?[0];

    private static uint? Lookup(string rootfs, string file, Func<string[], bool> match, int field)
    {
        foreach (string[] entry in Entries(rootfs, file))
        {
            if (entry.Length > field && match(entry) && uint.TryParse(entry[field], out uint value))
            {
                return value;
            }
        }

        return null;
    }

    private static IEnumerable<string[]> Entries(string rootfs, string file)
    {
        string path = ScopedPath.Resolve(rootfs, file);
        return File.Exists(path) ? File.ReadLines(path).Select(line => line.Split(':')) : [];
    }
}
