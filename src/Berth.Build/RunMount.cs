using System.Globalization;
using System.Text;
namespace Berth.Build;

/// <summary>
/// One <c>RUN --mount=...</c> as BuildKit's Dockerfile frontend defines it: <c>type=cache|bind|tmpfs|secret</c>
/// with its target and options, defaults applied. Berth's builder accepts the syntax although Docker's legacy
/// builder rejects it, because a Dockerfile written for BuildKit should build here too.
/// </summary>
public sealed record RunMount
{
    public string Type { get; init; } = "bind";
    public string Target { get; init; } = "";

    /// <summary>The cache's or secret's id (a cache defaults to its target, a secret to its target's file name).</summary>
    public string? Id { get; init; }

    /// <summary>shared, private or locked: how concurrent builds share one cache id.</summary>
    public string Sharing { get; init; } = "shared";

    /// <summary>A stage or image to bind from (or to seed a cache from); null for the build context.</summary>
    public string? From { get; init; }

    public string Source { get; init; } = "";
    public bool ReadOnly { get; init; }
    public int? Mode { get; init; }
    public int Uid { get; init; }
    public int Gid { get; init; }

    /// <summary>A secret that must be given (otherwise a missing secret is simply not mounted).</summary>
    public bool Required { get; init; }

    /// <summary>A tmpfs's size limit in bytes.</summary>
    public long? Size { get; init; }

    /// <summary>The mount as it keys the build cache: every option, never the contents of a cache or secret.</summary>
    public string KeyText => string.Create(CultureInfo.InvariantCulture,
        $"type={Type},target={Target},id={Id},sharing={Sharing},from={From},source={Source},ro={ReadOnly},mode={Mode},uid={Uid},gid={Gid},required={Required},size={Size}");

    /// <summary>Parses every <c>--mount</c> flag of a RUN; <paramref name="substitute"/> expands variables in each value.</summary>
    public static IReadOnlyList<RunMount> ParseAll(Instruction instruction, Func<string, string> substitute, string workingDir)
    {
        ArgumentNullException.ThrowIfNull(instruction);
        ArgumentNullException.ThrowIfNull(substitute);
        var mounts = new List<RunMount>();
        foreach (string flag in instruction.Flags)
        {
            if (flag.StartsWith("mount=", StringComparison.OrdinalIgnoreCase))
            {
                mounts.Add(Parse(substitute(flag["mount=".Length..]), workingDir));
            }
        }

        var targets = new HashSet<string>(StringComparer.Ordinal);
        foreach (RunMount mount in mounts)
        {
            if (!targets.Add(mount.Target))
            {
                throw new DockerfileException($"mount target {mount.Target} is used more than once");
            }
        }

        return mounts;
    }

    public static RunMount Parse(string spec, string workingDir)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var fields = new List<(string Key, string? Value)>();
        foreach (string field in SplitCsv(spec))
        {
            int equals = field.IndexOf('=', StringComparison.Ordinal);
            fields.Add(equals < 0 ? (field.ToLowerInvariant(), null) : (field[..equals].ToLowerInvariant(), field[(equals + 1)..]));
        }

        string type = fields.LastOrDefault(f => f.Key == "type").Value?.ToLowerInvariant() ?? "bind";
        if (type is not ("bind" or "cache" or "tmpfs" or "secret"))
        {
            throw new DockerfileException($"unsupported mount type \"{type}\"");
        }

        var mount = new RunMount { Type = type, ReadOnly = type == "bind", Mode = type == "secret" ? 0x100 : null };
        foreach ((string key, string? value) in fields)
        {
            mount = key switch
            {
                "type" => mount,
                "target" or "dst" or "destination" => mount with { Target = Valued(key, value) },
                "source" or "src" => mount with { Source = Valued(key, value) },
                "id" => mount with { Id = Valued(key, value) },
                "from" => mount with { From = Valued(key, value) },
                "sharing" => mount with
                {
                    Sharing = Valued(key, value).ToLowerInvariant() switch
                    {
                        "shared" => "shared",
                        "private" => "private",
                        "locked" => "locked",
                        _ => throw new DockerfileException($"unsupported sharing value \"{value}\""),
                    },
                },
                "readonly" or "ro" => mount with { ReadOnly = Flag(key, value) },
                "readwrite" or "rw" => mount with { ReadOnly = !Flag(key, value) },
                "required" => mount with { Required = Flag(key, value) },
                "mode" => mount with { Mode = Octal(key, Valued(key, value)) },
                "uid" => mount with { Uid = Number(key, value) },
                "gid" => mount with { Gid = Number(key, value) },
                "size" => mount with { Size = Number(key, value) },
                _ => throw new DockerfileException($"unexpected key '{key}' in '{spec}'"),
            };
        }

        if (mount.Type == "secret")
        {
            string id = mount.Id ?? (mount.Target.Length > 0 ? Path.GetFileName(mount.Target.TrimEnd('/')) : "");
            if (id.Length == 0)
            {
                throw new DockerfileException("secret mount needs an id or a target");
            }

            mount = mount with { Id = id, Target = mount.Target.Length > 0 ? mount.Target : "/run/secrets/" + id };
        }

        if (mount.Target.Length == 0)
        {
            throw new DockerfileException("mount target is required");
        }

        string target = mount.Target.StartsWith('/') ? mount.Target : Path.Combine(workingDir.Length > 0 ? workingDir : "/", mount.Target);
        mount = mount with { Target = "/" + string.Join('/', target.Split('/', StringSplitOptions.RemoveEmptyEntries)) };
        if (mount.Target == "/")
        {
            throw new DockerfileException("mount target cannot be /");
        }

        return mount.Type == "cache" && mount.Id is null ? mount with { Id = mount.Target } : mount;
    }

    private static string Valued(string key, string? value) =>
        string.IsNullOrEmpty(value) ? throw new DockerfileException($"mount option {key} needs a value") : value;

    private static bool Flag(string key, string? value) => value is null || value.ToLowerInvariant() switch
    {
        "true" or "1" => true,
        "false" or "0" => false,
        _ => throw new DockerfileException($"invalid value for {key}: {value}"),
    };

    private static int Octal(string key, string value) =>
        value.Length > 0 && value.All(c => c is >= '0' and <= '7') && value.Length <= 4 ? Convert.ToInt32(value, 8) : throw new DockerfileException($"invalid value for {key}: {value}");

    private static int Number(string key, string? value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int number) ? number : throw new DockerfileException($"invalid value for {key}: {value}");

    /// <summary>The comma-separated fields of a mount spec; a field may be double-quoted to hold a comma.</summary>
    private static List<string> SplitCsv(string spec)
    {
        var fields = new List<string>();
        var current = new StringBuilder();
        bool quoted = false;
        foreach (char c in spec)
        {
            if (c == '"')
            {
                quoted = !quoted;
            }
            else if (c == ',' && !quoted)
            {
                fields.Add(current.ToString());
                current.Clear();
            }
            else
            {
                current.Append(c);
            }
        }

        fields.Add(current.ToString());
        return [.. fields.Select(f => f.Trim()).Where(f => f.Length > 0)];
    }
}
