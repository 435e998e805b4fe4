using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Berth.Cli.Templates;

/// <summary>Go's template builtins and docker's extra functions (cli/templates/templates.go).</summary>
internal static class TemplateFunctions
{
    /// <summary>In a table header these return their first argument (docker's HeaderFunctions).</summary>
    public static readonly HashSet<string> HeaderPassThrough = ["json", "split", "join", "title", "lower", "upper", "pad", "truncate"];

    public static Dictionary<string, TemplateFunction> Create() => new(StringComparer.Ordinal)
    {
        // docker's
        ["json"] = a => TemplateValues.ToJson(Arg(a, 0, 1, "json")),
        ["split"] = a => Str(a, 0, 2, "split").Split(Str(a, 1, 2, "split")).Select(s => (object?)s).ToList(),
        ["join"] = a => string.Join(Str(a, 1, 2, "join"), Items(Arg(a, 0, 2, "join")).Select(TemplateValues.Print)),
        ["title"] = a => Title(Str(a, 0, 1, "title")),
        ["lower"] = a => Str(a, 0, 1, "lower").ToLowerInvariant(),
        ["upper"] = a => Str(a, 0, 1, "upper").ToUpperInvariant(),
        ["pad"] = a => new string(' ', (int)Int(a, 1, 3, "pad")) + Str(a, 0, 3, "pad") + new string(' ', (int)Int(a, 2, 3, "pad")),
        ["truncate"] = a => Truncate(Str(a, 0, 2, "truncate"), (int)Int(a, 1, 2, "truncate")),
        ["println"] = a => string.Join(' ', a.Select(TemplateValues.Print)) + "\n",

        // Go's builtins
        ["print"] = a => Sprint(a),
        ["printf"] = a => a.Count == 0 ? throw new TemplateException("wrong number of args for printf: want at least 1 got 0") : GoPrintf.Format(TemplateValues.Print(a[0]), a.Skip(1).ToList()),
        ["index"] = Index,
        ["len"] = a => Length(Arg(a, 0, 1, "len")),
        ["slice"] = Slice,
        ["not"] = a => !TemplateValues.IsTrue(Arg(a, 0, 1, "not")),
        ["and"] = a => a.Count == 0 ? throw new TemplateException("wrong number of args for and: want at least 1 got 0") : a.FirstOrDefault(v => !TemplateValues.IsTrue(v), a[^1]),
        ["or"] = a => a.Count == 0 ? throw new TemplateException("wrong number of args for or: want at least 1 got 0") : a.FirstOrDefault(TemplateValues.IsTrue, a[^1]),
        ["eq"] = a => a.Count < 2 ? throw new TemplateException("missing argument for comparison") : a.Skip(1).Any(b => Compare(a[0], b, equalityOnly: true) == 0),
        ["ne"] = a => Compare(Arg(a, 0, 2, "ne"), Arg(a, 1, 2, "ne"), equalityOnly: true) != 0,
        ["lt"] = a => Compare(Arg(a, 0, 2, "lt"), Arg(a, 1, 2, "lt"), equalityOnly: false) < 0,
        ["le"] = a => Compare(Arg(a, 0, 2, "le"), Arg(a, 1, 2, "le"), equalityOnly: false) <= 0,
        ["gt"] = a => Compare(Arg(a, 0, 2, "gt"), Arg(a, 1, 2, "gt"), equalityOnly: false) > 0,
        ["ge"] = a => Compare(Arg(a, 0, 2, "ge"), Arg(a, 1, 2, "ge"), equalityOnly: false) >= 0,
        ["urlquery"] = a => Uri.EscapeDataString(Sprint(a)).Replace("%20", "+", StringComparison.Ordinal),
    };

    /// <summary>Docker's <c>truncate</c>: the first <paramref name="length"/> characters.</summary>
    public static string Truncate(string s, int length)
    {
        var runes = s.EnumerateRunes().ToList();
        return runes.Count <= length ? s : string.Concat(runes.Take(Math.Max(0, length)).Select(r => r.ToString()));
    }

    /// <summary>Go's <c>strings.Title</c>: upper-cases the first letter of each word.</summary>
    public static string Title(string s)
    {
        var sb = new StringBuilder(s.Length);
        bool previousIsLetter = false;
        foreach (char c in s)
        {
            sb.Append(previousIsLetter ? c : char.ToUpperInvariant(c));
            previousIsLetter = char.IsLetterOrDigit(c) || c == '_' || c == '\'';
        }

        return sb.ToString();
    }

    /// <summary>Go's <c>fmt.Sprint</c>: a space between operands when neither is a string.</summary>
    private static string Sprint(IReadOnlyList<object?> args)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < args.Count; i++)
        {
            object? value = TemplateValues.Normalize(args[i]);
            if (i > 0 && value is not string && TemplateValues.Normalize(args[i - 1]) is not string)
            {
                sb.Append(' ');
            }

            sb.Append(TemplateValues.Print(value));
        }

        return sb.ToString();
    }

    private static object? Index(IReadOnlyList<object?> a)
    {
        if (a.Count == 0)
        {
            throw new TemplateException("wrong number of args for index: want at least 1 got 0");
        }

        object? value = TemplateValues.Normalize(a[0]);
        for (int i = 1; i < a.Count; i++)
        {
            object? key = TemplateValues.Normalize(a[i]);
            value = value switch
            {
                JsonObject o => o.TryGetPropertyValue(TemplateValues.Print(key), out JsonNode? n) ? TemplateValues.Normalize(n) : "",
                JsonArray arr => key is long k && k >= 0 && k < arr.Count ? TemplateValues.Normalize(arr[(int)k]) : throw new TemplateException($"index out of range: {TemplateValues.Print(key)}"),
                List<object?> list => key is long k && k >= 0 && k < list.Count ? list[(int)k] : throw new TemplateException($"index out of range: {TemplateValues.Print(key)}"),
                string s => key is long k && k >= 0 && k < Encoding.UTF8.GetByteCount(s) ? (long)Encoding.UTF8.GetBytes(s)[k] : throw new TemplateException($"index out of range: {TemplateValues.Print(key)}"),
                null or NoValue => throw new TemplateException("index of untyped nil"),
                _ => throw new TemplateException($"can't index item of type {value.GetType().Name}"),
            };
        }

        return value;
    }

    private static object? Slice(IReadOnlyList<object?> a)
    {
        object? value = TemplateValues.Normalize(Arg(a, 0, -1, "slice"));
        int count = (int)(long)Length(value);
        int from = a.Count > 1 ? (int)Int(a, 1, -1, "slice") : 0;
        int to = a.Count > 2 ? (int)Int(a, 2, -1, "slice") : count;
        if (from < 0 || to < from || to > count)
        {
            throw new TemplateException($"index out of range: {from}:{to}");
        }

        return value switch
        {
            string s => s.Substring(from, to - from),
            JsonArray arr => arr.Skip(from).Take(to - from).Select(n => TemplateValues.Normalize(n)).ToList(),
            List<object?> list => list.GetRange(from, to - from),
            _ => throw new TemplateException("can't slice item"),
        };
    }

    private static object Length(object? value) => TemplateValues.Normalize(value) switch
    {
        string s => (long)Encoding.UTF8.GetByteCount(s),
        JsonObject o => (long)o.Count,
        JsonArray a => (long)a.Count,
        List<object?> l => (long)l.Count,
        var v => throw new TemplateException($"len of type {v?.GetType().Name ?? "nil"}"),
    };

    /// <summary>Compares two basic values: numbers numerically, strings ordinally, bools and nil for equality.</summary>
    private static int Compare(object? left, object? right, bool equalityOnly)
    {
        object? a = TemplateValues.Normalize(left);
        object? b = TemplateValues.Normalize(right);
        if (a is NoValue)
        {
            a = null;
        }

        if (b is NoValue)
        {
            b = null;
        }

        switch (a, b)
        {
            case (long x, long y):
                return x.CompareTo(y);
            case (long or double, long or double):
                return Convert.ToDouble(a, CultureInfo.InvariantCulture).CompareTo(Convert.ToDouble(b, CultureInfo.InvariantCulture));
            case (string x, string y):
                return string.CompareOrdinal(x, y);
            case (bool x, bool y) when equalityOnly:
                return x == y ? 0 : 1;
            case (null, null) when equalityOnly:
                return 0;
            default:
                if (equalityOnly)
                {
                    if (a is null || b is null)
                    {
                        return 1;
                    }

                    throw new TemplateException("incompatible types for comparison");
                }

                throw new TemplateException("invalid type for comparison");
        }
    }

    private static IEnumerable<object?> Items(object? value) => TemplateValues.Normalize(value) switch
    {
        JsonArray a => a.Select(n => TemplateValues.Normalize(n)),
        List<object?> l => l,
        string s => [s],
        null or NoValue => [],
        var v => throw new TemplateException($"wrong type for value; expected []string; got {v.GetType().Name}"),
    };

    private static object? Arg(IReadOnlyList<object?> a, int index, int expected, string name)
    {
        if ((expected >= 0 && a.Count != expected) || index >= a.Count)
        {
            throw new TemplateException($"wrong number of args for {name}: want {expected} got {a.Count}");
        }

        return TemplateValues.Normalize(a[index]);
    }

    private static string Str(IReadOnlyList<object?> a, int index, int expected, string name) =>
        Arg(a, index, expected, name) switch
        {
            string s => s,
            var v => TemplateValues.Print(v),
        };

    private static long Int(IReadOnlyList<object?> a, int index, int expected, string name) =>
        Arg(a, index, expected, name) switch
        {
            long l => l,
            double d => (long)d,
            string s when long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long l) => l,
            var v => throw new TemplateException($"wrong type for value; expected int; got {v?.GetType().Name ?? "nil"}"),
        };
}

/// <summary>The common verbs of Go's <c>fmt.Sprintf</c>: <c>%v %s %d %q %t %f %g %e %x %X %o %c %%</c> with flags, width and precision.</summary>
internal static class GoPrintf
{
    public static string Format(string format, IReadOnlyList<object?> args)
    {
        var sb = new StringBuilder();
        int argIndex = 0;
        for (int i = 0; i < format.Length; i++)
        {
            char c = format[i];
            if (c != '%')
            {
                sb.Append(c);
                continue;
            }

            i++;
            if (i >= format.Length)
            {
                sb.Append("%!(NOVERB)");
                break;
            }

            bool minus = false, plus = false, zero = false, space = false;
            for (; i < format.Length && "-+0 #".Contains(format[i], StringComparison.Ordinal); i++)
            {
                switch (format[i])
                {
                    case '-': minus = true; break;
                    case '+': plus = true; break;
                    case '0': zero = true; break;
                    case ' ': space = true; break;
                }
            }

            int width = ReadNumber(format, ref i);
            int precision = -1;
            if (i < format.Length && format[i] == '.')
            {
                i++;
                precision = Math.Max(0, ReadNumber(format, ref i));
            }

            if (i >= format.Length)
            {
                sb.Append("%!(NOVERB)");
                break;
            }

            char verb = format[i];
            if (verb == '%')
            {
                sb.Append('%');
                continue;
            }

            if (argIndex >= args.Count)
            {
                sb.Append("%!").Append(verb).Append("(MISSING)");
                continue;
            }

            object? value = TemplateValues.Normalize(args[argIndex++]);
            string text = verb switch
            {
                'v' or 's' => Precision(TemplateValues.Print(value), precision),
                'q' => GoStrings.Quote(TemplateValues.Print(value)),
                'd' => value is long or double ? Signed(Convert.ToInt64(value, CultureInfo.InvariantCulture), plus, space) : BadVerb(verb, value),
                't' => value is bool b ? (b ? "true" : "false") : BadVerb(verb, value),
                'f' or 'F' => value is long or double ? SignedFloat(Convert.ToDouble(value, CultureInfo.InvariantCulture).ToString("F" + (precision < 0 ? 6 : precision), CultureInfo.InvariantCulture), plus, space) : BadVerb(verb, value),
                'e' => value is long or double ? Convert.ToDouble(value, CultureInfo.InvariantCulture).ToString((precision < 0 ? "0.000000" : "0." + new string('0', precision)) + "e+00", CultureInfo.InvariantCulture) : BadVerb(verb, value),
                'g' => value is long or double ? TemplateValues.FormatFloat(Convert.ToDouble(value, CultureInfo.InvariantCulture)) : BadVerb(verb, value),
                'x' => value is long lx ? lx.ToString("x", CultureInfo.InvariantCulture) : Convert.ToHexStringLower(Encoding.UTF8.GetBytes(TemplateValues.Print(value))),
                'X' => value is long lX ? lX.ToString("X", CultureInfo.InvariantCulture) : Convert.ToHexString(Encoding.UTF8.GetBytes(TemplateValues.Print(value))),
                'o' => value is long lo ? Convert.ToString(lo, 8) : BadVerb(verb, value),
                'c' => value is long lc ? char.ConvertFromUtf32((int)lc) : BadVerb(verb, value),
                _ => BadVerb(verb, value),
            };

            int pad = width - new System.Globalization.StringInfo(text).LengthInTextElements;
            if (pad > 0)
            {
                if (minus)
                {
                    text += new string(' ', pad);
                }
                else if (zero && verb is 'd' or 'f' or 'F' or 'e' or 'g' or 'x' or 'X' or 'o')
                {
                    bool negative = text.StartsWith('-') || text.StartsWith('+');
                    text = negative ? text[0] + new string('0', pad) + text[1..] : new string('0', pad) + text;
                }
                else
                {
                    text = new string(' ', pad) + text;
                }
            }

            sb.Append(text);
        }

        if (argIndex < args.Count)
        {
            sb.Append("%!(EXTRA ");
            sb.Append(string.Join(", ", args.Skip(argIndex).Select(a => TemplateValues.Print(a))));
            sb.Append(')');
        }

        return sb.ToString();
    }

    private static int ReadNumber(string format, ref int i)
    {
        int start = i;
        while (i < format.Length && char.IsAsciiDigit(format[i]))
        {
            i++;
        }

        return i > start ? int.Parse(format.AsSpan(start, i - start), CultureInfo.InvariantCulture) : -1;
    }

    private static string Precision(string s, int precision) => precision < 0 ? s : TemplateFunctions.Truncate(s, precision);

    private static string Signed(long v, bool plus, bool space) =>
        v >= 0 && plus ? "+" + v.ToString(CultureInfo.InvariantCulture)
        : v >= 0 && space ? " " + v.ToString(CultureInfo.InvariantCulture)
        : v.ToString(CultureInfo.InvariantCulture);

    private static string SignedFloat(string s, bool plus, bool space) =>
        s.StartsWith('-') ? s : plus ? "+" + s : space ? " " + s : s;

    private static string BadVerb(char verb, object? value) =>
        $"%!{verb}({(value is null ? "<nil>" : GoTypeName(value) + "=" + TemplateValues.Print(value))})";

    private static string GoTypeName(object value) => value switch
    {
        string => "string",
        bool => "bool",
        long => "int",
        double => "float64",
        _ => "interface {}",
    };
}
