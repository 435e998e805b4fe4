using System.Globalization;
using System.Text;

namespace Berth.Cli.Parsing;

/// <summary>The value shape of a flag; decides how it consumes arguments and how help names it.</summary>
internal enum FlagKind
{
    /// <summary><c>--flag</c> means true; a value only with '=' (<c>--flag=false</c>).</summary>
    Bool,

    /// <summary>One value; the last occurrence wins.</summary>
    String,

    /// <summary>Repeatable; every occurrence is kept in order (<c>-e A=1 -e B=2</c>).</summary>
    List,

    /// <summary>A 64-bit integer, checked while parsing.</summary>
    Int,
}

/// <summary>One flag of a command: its names, value shape and help text.</summary>
internal sealed class FlagSpec
{
    public required string Name { get; init; }

    public char? Shorthand { get; init; }

    public required FlagKind Kind { get; init; }

    public string Usage { get; init; } = "";

    /// <summary>The value's name in help (<c>string</c>, <c>list</c>, <c>bytes</c>...); null for bools.</summary>
    public string? TypeName { get; init; }

    /// <summary>Shown as <c>(default X)</c> in help; also the value when the flag is absent.</summary>
    public string? Default { get; init; }

    public bool Hidden { get; init; }
}

/// <summary>A flag error (<c>unknown flag: --foo</c>); the CLI adds <c>See 'berth run --help'.</c> and exits 125.</summary>
internal sealed class FlagParseException(string message) : Exception(message);

/// <summary>
/// The flags of one command and a parser with pflag's grammar (what docker's CLI uses):
/// <list type="bullet">
/// <item><c>--name=value</c> and <c>--name value</c>; a bool takes a value only after '='.</item>
/// <item>Shorthands combine: <c>-it</c> is <c>-i -t</c>; a non-bool shorthand takes the rest of the
/// cluster as its value (<c>-p8080:80</c>, <c>-e=A=1</c>) or else the next argument.</item>
/// <item><c>--</c> ends the flags; a lone <c>-</c> is an argument.</item>
/// <item>With <c>interspersed</c> false, parsing stops at the first argument and everything after it is
/// kept verbatim: <c>berth run -d busybox ls -la</c> gives <c>ls -la</c> to the container, not to us.</item>
/// </list>
/// System.CommandLine cannot do the last point (it has no "stop at the first positional" mode: options
/// after the image would be taken as the CLI's own), and docker's grammar is small, so this is hand-written.
/// </summary>
internal sealed class FlagSet
{
    private readonly List<FlagSpec> _flags = [];
    private readonly Dictionary<string, FlagSpec> _byName = new(StringComparer.Ordinal);
    private readonly Dictionary<char, FlagSpec> _byShorthand = [];

    public IReadOnlyList<FlagSpec> Flags => _flags;

    public FlagSet Add(FlagSpec spec)
    {
        if (!_byName.TryAdd(spec.Name, spec))
        {
            throw new InvalidOperationException($"flag redefined: {spec.Name}");
        }

        if (spec.Shorthand is char c && !_byShorthand.TryAdd(c, spec))
        {
            throw new InvalidOperationException($"unable to redefine '{c}' shorthand");
        }

        _flags.Add(spec);
        return this;
    }

    public FlagSet Bool(string name, char? shorthand, string usage, bool defaultValue = false, bool hidden = false) =>
        Add(new FlagSpec { Name = name, Shorthand = shorthand, Kind = FlagKind.Bool, Usage = usage, Hidden = hidden, Default = defaultValue ? "true" : null });

    public FlagSet String(string name, char? shorthand, string usage, string? defaultValue = null, string typeName = "string", bool hidden = false) =>
        Add(new FlagSpec { Name = name, Shorthand = shorthand, Kind = FlagKind.String, Usage = usage, Default = defaultValue, TypeName = typeName, Hidden = hidden });

    public FlagSet List(string name, char? shorthand, string usage, string typeName = "list", bool hidden = false) =>
        Add(new FlagSpec { Name = name, Shorthand = shorthand, Kind = FlagKind.List, Usage = usage, TypeName = typeName, Hidden = hidden });

    public FlagSet Int(string name, char? shorthand, string usage, long? defaultValue = null, string typeName = "int", bool hidden = false) =>
        Add(new FlagSpec
        {
            Name = name, Shorthand = shorthand, Kind = FlagKind.Int, Usage = usage, TypeName = typeName, Hidden = hidden,
            Default = defaultValue?.ToString(CultureInfo.InvariantCulture),
        });

    public bool HasShorthand(char c) => _byShorthand.ContainsKey(c);

    public FlagSpec? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>Parses <paramref name="args"/>; see the class summary for the grammar.</summary>
    /// <exception cref="FlagParseException">An unknown flag, a missing or bad value.</exception>
    public ParsedArgs Parse(IReadOnlyList<string> args, bool interspersed)
    {
        var result = new ParsedArgs(this);
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            if (arg == "--")
            {
                result.AddPositionals(args, i + 1);
                break;
            }

            if (arg.Length < 2 || arg[0] != '-')
            {
                if (!interspersed)
                {
                    result.AddPositionals(args, i);
                    break;
                }

                result.Positionals.Add(arg);
                continue;
            }

            i = arg[1] == '-' ? ParseLong(args, i, result) : ParseShorthands(args, i, result);
        }

        return result;
    }

    private int ParseLong(IReadOnlyList<string> args, int index, ParsedArgs result)
    {
        string body = args[index][2..];
        if (body.Length == 0 || body[0] == '-' || body[0] == '=')
        {
            throw new FlagParseException($"bad flag syntax: {args[index]}");
        }

        int eq = body.IndexOf('=', StringComparison.Ordinal);
        string name = eq < 0 ? body : body[..eq];
        if (!_byName.TryGetValue(name, out FlagSpec? spec))
        {
            throw new FlagParseException($"unknown flag: --{name}");
        }

        if (eq >= 0)
        {
            result.Set(spec, body[(eq + 1)..]);
            return index;
        }

        if (spec.Kind == FlagKind.Bool)
        {
            result.Set(spec, "true");
            return index;
        }

        if (index + 1 >= args.Count)
        {
            throw new FlagParseException($"flag needs an argument: --{name}");
        }

        result.Set(spec, args[index + 1]);
        return index + 1;
    }

    private int ParseShorthands(IReadOnlyList<string> args, int index, ParsedArgs result)
    {
        string cluster = args[index][1..];
        for (int j = 0; j < cluster.Length; j++)
        {
            char c = cluster[j];
            if (!_byShorthand.TryGetValue(c, out FlagSpec? spec))
            {
                throw new FlagParseException($"unknown shorthand flag: '{c}' in -{cluster}");
            }

            string rest = cluster[(j + 1)..];
            if (rest.StartsWith('='))
            {
                result.Set(spec, rest[1..]);
                return index;
            }

            if (spec.Kind == FlagKind.Bool)
            {
                result.Set(spec, "true");
                continue;
            }

            if (rest.Length > 0)
            {
                result.Set(spec, rest);
                return index;
            }

            if (index + 1 >= args.Count)
            {
                throw new FlagParseException($"flag needs an argument: '{c}' in -{c}");
            }

            result.Set(spec, args[index + 1]);
            return index + 1;
        }

        return index;
    }

    /// <summary>The options block of help, laid out as pflag's <c>FlagUsages</c> does.</summary>
    public string Usages()
    {
        var lines = new List<(string Left, string Right)>();
        int max = 0;
        foreach (FlagSpec flag in _flags.Where(f => !f.Hidden).OrderBy(f => f.Name, StringComparer.Ordinal))
        {
            string left = flag.Shorthand is char c ? $"  -{c}, --{flag.Name}" : $"      --{flag.Name}";
            if (flag.Kind != FlagKind.Bool && !string.IsNullOrEmpty(flag.TypeName))
            {
                left += " " + flag.TypeName;
            }

            string right = flag.Usage;
            if (!string.IsNullOrEmpty(flag.Default))
            {
                right += flag.Kind == FlagKind.String && flag.TypeName == "string" ? $" (default \"{flag.Default}\")" : $" (default {flag.Default})";
            }

            max = Math.Max(max, left.Length);
            lines.Add((left, right));
        }

        var sb = new StringBuilder();
        foreach ((string left, string right) in lines)
        {
            sb.Append(left).Append(' ', max - left.Length + 3);
            string[] usageLines = right.Split('\n');
            sb.Append(usageLines[0]).Append('\n');
            for (int k = 1; k < usageLines.Length; k++)
            {
                sb.Append(' ', max + 3).Append(usageLines[k]).Append('\n');
            }
        }

        return sb.ToString();
    }
}

/// <summary>The outcome of <see cref="FlagSet.Parse"/>: flag values in the order given, and the arguments.</summary>
internal sealed class ParsedArgs(FlagSet flags)
{
    private readonly Dictionary<string, List<string>> _values = new(StringComparer.Ordinal);

    public List<string> Positionals { get; } = [];

    public FlagSet FlagSet => flags;

    /// <summary>Whether the flag was given at all (pflag's <c>Changed</c>).</summary>
    public bool Changed(string name) => _values.ContainsKey(name);

    public bool Bool(string name)
    {
        FlagSpec spec = EnsureKnown(name, FlagKind.Bool);
        return _values.TryGetValue(name, out List<string>? v) ? ParseBool(v[^1], name) : spec.Default == "true";
    }

    public string? String(string name)
    {
        FlagSpec spec = EnsureKnown(name, null);
        return _values.TryGetValue(name, out List<string>? v) ? v[^1] : spec.Default;
    }

    public string StringOrEmpty(string name) => String(name) ?? "";

    public IReadOnlyList<string> List(string name)
    {
        EnsureKnown(name, null);
        return _values.TryGetValue(name, out List<string>? v) ? v : [];
    }

    public long Int(string name)
    {
        FlagSpec spec = EnsureKnown(name, FlagKind.Int);
        string? text = _values.TryGetValue(name, out List<string>? v) ? v[^1] : spec.Default;
        return text is null ? 0 : long.Parse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
    }

    internal void Set(FlagSpec spec, string value)
    {
        if (spec.Kind == FlagKind.Bool)
        {
            ParseBool(value, Display(spec));
        }
        else if (spec.Kind == FlagKind.Int && !long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _))
        {
            throw new FlagParseException($"invalid argument \"{value}\" for \"{Display(spec)}\" flag: strconv.ParseInt: parsing \"{value}\": invalid syntax");
        }

        if (!_values.TryGetValue(spec.Name, out List<string>? list))
        {
            list = [];
            _values[spec.Name] = list;
        }

        if (spec.Kind != FlagKind.List)
        {
            list.Clear();
        }

        list.Add(value);
    }

    internal void AddPositionals(IReadOnlyList<string> args, int from)
    {
        for (int i = from; i < args.Count; i++)
        {
            Positionals.Add(args[i]);
        }
    }

    private static string Display(FlagSpec spec) => spec.Shorthand is char c ? $"-{c}, --{spec.Name}" : $"--{spec.Name}";

    /// <summary>Go's strconv.ParseBool.</summary>
    private static bool ParseBool(string value, string flag) => value switch
    {
        "1" or "t" or "T" or "true" or "TRUE" or "True" => true,
        "0" or "f" or "F" or "false" or "FALSE" or "False" => false,
        _ => throw new FlagParseException($"invalid argument \"{value}\" for \"{flag}\" flag: strconv.ParseBool: parsing \"{value}\": invalid syntax"),
    };

    private FlagSpec EnsureKnown(string name, FlagKind? kind)
    {
        FlagSpec spec = flags.Find(name) ?? throw new InvalidOperationException($"flag --{name} is not defined");
        if (kind is FlagKind k && spec.Kind != k)
        {
            throw new InvalidOperationException($"flag --{name} is a {spec.Kind}, not a {k}");
        }

        return spec;
    }
}
