using System.Text;

namespace Berth.Compose.Loading;

/// <summary>
/// Compose's variable substitution in values: <c>$VAR</c>, <c>${VAR}</c>, <c>${VAR:-default}</c> (unset or empty),
/// <c>${VAR-default}</c> (unset), <c>${VAR:?error}</c>, <c>${VAR?error}</c>, <c>${VAR:+alt}</c>, <c>${VAR+alt}</c>
/// and <c>$$</c> for a literal dollar. Defaults and alternatives are themselves interpolated (<c>${A:-${B}}</c>).
/// An unset variable without a default becomes "" and is reported once, as compose warns.
/// </summary>
public sealed class Interpolation(Func<string, string?> lookup)
{
    private readonly HashSet<string> _warned = new(StringComparer.Ordinal);

    /// <summary>Variables that were unset and defaulted to "", in first-use order.</summary>
    public List<string> Unset { get; } = [];

    /// <summary>Interpolates every scalar value of the tree in place (keys are left as written, as compose does).</summary>
    public void Apply(ComposeNode node)
    {
        switch (node)
        {
            case ScalarNode { Value: { } text } scalar when text.Contains('$', StringComparison.Ordinal):
                scalar.Value = Substitute(text, scalar.Mark);
                break;
            case SeqNode seq:
                foreach (ComposeNode item in seq.Items)
                {
                    Apply(item);
                }

                break;
            case MapNode map:
                foreach ((_, ComposeNode value) in map.Entries)
                {
                    Apply(value);
                }

                break;
        }
    }

    public string Substitute(string text, SourceMark mark)
    {
        var sb = new StringBuilder(text.Length);
        int i = 0;
        while (i < text.Length)
        {
            char c = text[i];
            if (c != '$' || i + 1 >= text.Length)
            {
                sb.Append(c);
                i++;
                continue;
            }

            char next = text[i + 1];
            if (next == '$')
            {
                sb.Append('$');
                i += 2;
            }
            else if (next == '{')
            {
                int close = MatchingBrace(text, i + 2) ?? throw ComposeException.At(mark, $"Invalid template: \"{text}\"");
                sb.Append(Braced(text[(i + 2)..close], text, mark));
                i = close + 1;
            }
            else if (IsNameStart(next))
            {
                int end = i + 1;
                while (end < text.Length && IsNamePart(text[end]))
                {
                    end++;
                }

                sb.Append(Value(text[(i + 1)..end]) ?? "");
                i = end;
            }
            else
            {
                sb.Append(c);
                i++;
            }
        }

        return sb.ToString();
    }

    private string Braced(string body, string whole, SourceMark mark)
    {
        int end = 0;
        while (end < body.Length && IsNamePart(body[end]))
        {
            end++;
        }

        string name = body[..end];
        if (name.Length == 0 || !IsNameStart(name[0]))
        {
            throw ComposeException.At(mark, $"Invalid template: \"{whole}\"");
        }

        string rest = body[end..];
        string? value = lookup(name);
        if (rest.Length == 0)
        {
            return Value(name) ?? "";
        }

        bool colon = rest[0] == ':';
        string op = colon ? rest[..Math.Min(2, rest.Length)] : rest[..1];
        string argument = rest[op.Length..];
        bool set = colon ? !string.IsNullOrEmpty(value) : value is not null;
        switch (op[^1])
        {
            case '-' when op.Length == (colon ? 2 : 1):
                return set ? value! : Substitute(argument, mark);
            case '?' when op.Length == (colon ? 2 : 1):
                if (!set)
                {
                    string error = Substitute(argument, mark);
                    throw ComposeException.At(mark, $"required variable {name} is missing a value" + (error.Length > 0 ? ": " + error : ""));
                }

                return value!;
            case '+' when op.Length == (colon ? 2 : 1):
                return set ? Substitute(argument, mark) : "";
            default:
                throw ComposeException.At(mark, $"Invalid template: \"{whole}\"");
        }
    }

    private string? Value(string name)
    {
        string? value = lookup(name);
        if (value is null && _warned.Add(name))
        {
            Unset.Add(name);
        }

        return value;
    }

    private static int? MatchingBrace(string text, int from)
    {
        int depth = 1;
        for (int i = from; i < text.Length; i++)
        {
            if (text[i] == '{' && i > 0 && text[i - 1] == '$')
            {
                depth++;
            }
            else if (text[i] == '}' && --depth == 0)
            {
                return i;
            }
        }

        return null;
    }

    private static bool IsNameStart(char c) => char.IsAsciiLetter(c) || c == '_';

    private static bool IsNamePart(char c) => char.IsAsciiLetterOrDigit(c) || c == '_';
}

/// <summary>Reads <c>.env</c> and <c>env_file</c> files: <c>KEY=VALUE</c> lines, <c>export</c> prefixes, comments, quotes.</summary>
public static class EnvFile
{
    /// <summary>Parses the file's text; <paramref name="lookup"/> resolves <c>${VAR}</c> in unquoted and double-quoted values.</summary>
    public static List<KeyValuePair<string, string?>> Parse(string text, string file, Func<string, string?> lookup)
    {
        var result = new List<KeyValuePair<string, string?>>();
        var seen = new Dictionary<string, string?>(StringComparer.Ordinal);
        string? Resolve(string name) => seen.TryGetValue(name, out string? v) ? v : lookup(name);
        string[] lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        for (int n = 0; n < lines.Length; n++)
        {
            string line = lines[n].Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            if (line.StartsWith("export ", StringComparison.Ordinal))
            {
                line = line[7..].TrimStart();
            }

            int eq = line.IndexOf('=', StringComparison.Ordinal);
            var mark = new SourceMark(file, n + 1, 1);
            if (eq < 0)
            {
                // A bare name takes its value from the environment (null when unset).
                string bare = line;
                result.Add(new(bare, lookup(bare)));
                continue;
            }

            string key = line[..eq].Trim();
            if (key.Length == 0 || key.Any(char.IsWhiteSpace))
            {
                throw ComposeException.At(mark, $"unexpected character in variable name \"{line}\"");
            }

            string raw = line[(eq + 1)..].TrimStart();
            string value;
            if (raw.Length > 0 && raw[0] is '\'' or '"')
            {
                char quote = raw[0];
                int close = raw.IndexOf(quote, 1);
                var sb = new StringBuilder(raw[1..]);
                // A quoted value may span lines.
                while (close < 0 && n + 1 < lines.Length)
                {
                    n++;
                    sb.Append('\n').Append(lines[n]);
                    raw = quote + sb.ToString();
                    close = raw.IndexOf(quote, 1);
                }

                if (close < 0)
                {
                    throw ComposeException.At(mark, $"unterminated quoted value for {key}");
                }

                value = raw[1..close];
                if (quote == '"')
                {
                    value = value.Replace("\\n", "\n", StringComparison.Ordinal).Replace("\\\"", "\"", StringComparison.Ordinal);
                    value = new Interpolation(Resolve).Substitute(value, mark);
                }
            }
            else
            {
                int comment = raw.IndexOf(" #", StringComparison.Ordinal);
                value = (comment >= 0 ? raw[..comment] : raw).TrimEnd();
                value = new Interpolation(Resolve).Substitute(value, mark);
            }

            seen[key] = value;
            result.Add(new(key, value));
        }

        return result;
    }
}
