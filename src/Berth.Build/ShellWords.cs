using System.Text;

namespace Berth.Build;

/// <summary>
/// Docker's word processing for the instructions it substitutes (ENV, ARG, LABEL, COPY, ADD, WORKDIR, USER, EXPOSE,
/// VOLUME, STOPSIGNAL, FROM): quotes and escapes are removed and <c>$VAR</c>, <c>${VAR}</c> and the modifiers
/// <c>:-</c> <c>-</c> <c>:+</c> <c>+</c> <c>:?</c> <c>?</c> <c>#</c> <c>%</c> are substituted (not inside single quotes).
/// </summary>
public static class ShellWords
{
    /// <summary>Splits <paramref name="text"/> into words at unquoted whitespace, substituting from <paramref name="lookup"/>.</summary>
    public static IReadOnlyList<string> Split(string text, Func<string, string?> lookup, char escape = '\\') =>
        Process(text, lookup, escape, split: true);

    /// <summary>Processes <paramref name="text"/> as one word (whitespace kept).</summary>
    public static string Word(string text, Func<string, string?> lookup, char escape = '\\')
    {
        IReadOnlyList<string> words = Process(text, lookup, escape, split: false);
        return words.Count == 0 ? "" : words[0];
    }

    /// <summary>Only substitutes variables, leaving quotes as they are (exec-form elements).</summary>
    public static string SubstituteOnly(string text, Func<string, string?> lookup, char escape = '\\')
    {
        ArgumentNullException.ThrowIfNull(text);
        var output = new StringBuilder();
        int i = 0;
        while (i < text.Length)
        {
            char c = text[i];
            if (c == escape && i + 1 < text.Length && text[i + 1] == '$')
            {
                output.Append('$');
                i += 2;
            }
            else if (c == '$')
            {
                i = Substitute(text, i, lookup, escape, output);
            }
            else
            {
                output.Append(c);
                i++;
            }
        }

        return output.ToString();
    }

    private static List<string> Process(string text, Func<string, string?> lookup, char escape, bool split)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(lookup);
        var words = new List<string>();
        var word = new StringBuilder();
        bool inWord = false;
        int i = 0;
        while (i < text.Length)
        {
            char c = text[i];
            if (split && char.IsWhiteSpace(c))
            {
                if (inWord)
                {
                    words.Add(word.ToString());
                    word.Clear();
                    inWord = false;
                }

                i++;
                continue;
            }

            inWord = true;
            if (c == escape)
            {
                if (i + 1 < text.Length)
                {
                    word.Append(text[i + 1]);
                    i += 2;
                }
                else
                {
                    word.Append(c);
                    i++;
                }
            }
            else if (c == '\'')
            {
                int end = text.IndexOf('\'', i + 1);
                if (end < 0)
                {
                    throw new DockerfileException("unexpected end of statement while looking for matching single-quote");
                }

                word.Append(text, i + 1, end - i - 1);
                i = end + 1;
            }
            else if (c == '"')
            {
                i++;
                while (true)
                {
                    if (i >= text.Length)
                    {
                        throw new DockerfileException("unexpected end of statement while looking for matching double-quote");
                    }

                    char d = text[i];
                    if (d == '"')
                    {
                        i++;
                        break;
                    }

                    if (d == escape && i + 1 < text.Length && text[i + 1] is '"' or '$' || (d == escape && i + 1 < text.Length && text[i + 1] == escape))
                    {
                        word.Append(text[i + 1]);
                        i += 2;
                    }
                    else if (d == '$')
                    {
                        i = Substitute(text, i, lookup, escape, word);
                    }
                    else
                    {
                        word.Append(d);
                        i++;
                    }
                }
            }
            else if (c == '$')
            {
                i = Substitute(text, i, lookup, escape, word);
            }
            else
            {
                word.Append(c);
                i++;
            }
        }

        if (inWord || !split)
        {
            words.Add(word.ToString());
        }

        return words;
    }

    /// <summary>Substitutes the variable reference starting at <paramref name="start"/> (a '$'); returns the index after it.</summary>
    private static int Substitute(string text, int start, Func<string, string?> lookup, char escape, StringBuilder output)
    {
        int i = start + 1;
        if (i >= text.Length)
        {
            output.Append('$');
            return i;
        }

        if (text[i] != '{')
        {
            int nameEnd = i;
            while (nameEnd < text.Length && (char.IsAsciiLetterOrDigit(text[nameEnd]) || text[nameEnd] == '_'))
            {
                nameEnd++;
            }

            if (nameEnd == i)
            {
                output.Append('$');
                return i;
            }

            output.Append(lookup(text[i..nameEnd]) ?? "");
            return nameEnd;
        }

        // ${...}: find the matching brace, allowing nested ${} in the modifier word.
        int depth = 1;
        int j = i + 1;
        while (j < text.Length && depth > 0)
        {
            if (text[j] == '{')
            {
                depth++;
            }
            else if (text[j] == '}')
            {
                depth--;
            }

            if (depth > 0)
            {
                j++;
            }
        }

        if (j >= text.Length)
        {
            throw new DockerfileException("missing '}' in variable substitution");
        }

        string body = text[(i + 1)..j];
        int k = 0;
        while (k < body.Length && (char.IsAsciiLetterOrDigit(body[k]) || body[k] == '_'))
        {
            k++;
        }

        if (k == 0)
        {
            throw new DockerfileException($"bad substitution: ${{{body}}}");
        }

        string name = body[..k];
        string? value = lookup(name);
        string modifier = body[k..];
        if (modifier.Length == 0)
        {
            output.Append(value ?? "");
            return j + 1;
        }

        bool colon = modifier[0] == ':';
        string op = colon ? modifier[..Math.Min(2, modifier.Length)] : modifier[..1];
        string word = modifier[op.Length..];
        string Expanded() => Word(word, lookup, escape);
        bool unset = value is null || (colon && value.Length == 0);
        switch (op)
        {
            case ":-" or "-":
                output.Append(unset ? Expanded() : value);
                break;
            case ":+" or "+":
                output.Append(unset ? "" : Expanded());
                break;
            case ":?" or "?":
                if (unset)
                {
                    string message = Expanded();
                    throw new DockerfileException($"{name}: {(message.Length == 0 ? "is not allowed to be unset" : message)}");
                }

                output.Append(value);
                break;
            case "#":
                {
                    string prefix = Expanded();
                    string v = value ?? "";
                    output.Append(v.StartsWith(prefix, StringComparison.Ordinal) ? v[prefix.Length..] : v);
                    break;
                }

            case "%":
                {
                    string suffix = Expanded();
                    string v = value ?? "";
                    output.Append(v.EndsWith(suffix, StringComparison.Ordinal) ? v[..^suffix.Length] : v);
                    break;
                }

            default:
                throw new DockerfileException($"unsupported modifier ({op}) in substitution");
        }

        return j + 1;
    }

    /// <summary>
    /// <c>key=value key2="v 2"</c> pairs (ENV, LABEL, ARG) — or the legacy <c>ENV key value</c> with
    /// <paramref name="legacyAllowed"/>. Values are substituted; ARG values may be absent (null).
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, string?>> Pairs(string text, Func<string, string?> lookup, char escape, bool legacyAllowed, bool valueOptional)
    {
        ArgumentNullException.ThrowIfNull(text);
        var raw = Process(text, _ => null, escape, split: true);
        // The first word decides the form: "key=value ..." or "key value".
        string trimmed = text.TrimStart();
        int firstSpace = trimmed.IndexOfAny([' ', '\t']);
        string firstWord = firstSpace < 0 ? trimmed : trimmed[..firstSpace];
        if (legacyAllowed && !firstWord.Contains('=', StringComparison.Ordinal) && firstSpace > 0)
        {
            string value = Word(trimmed[firstSpace..].Trim(), lookup, escape);
            return [new(firstWord, value)];
        }

        _ = raw;
        var pairs = new List<KeyValuePair<string, string?>>();
        foreach (string token in SplitRaw(text, escape))
        {
            int equals = token.IndexOf('=', StringComparison.Ordinal);
            if (equals < 0)
            {
                if (!valueOptional)
                {
                    throw new DockerfileException($"Syntax error - can't find = in \"{token}\". Must be of the form: name=value");
                }

                pairs.Add(new(Word(token, lookup, escape), null));
                continue;
            }

            string key = Word(token[..equals], lookup, escape);
            if (key.Length == 0)
            {
                throw new DockerfileException("Syntax error - empty key in \"" + token + "\"");
            }

            pairs.Add(new(key, Word(token[(equals + 1)..], lookup, escape)));
        }

        return pairs;
    }

    /// <summary>Splits at unquoted whitespace keeping quotes and escapes, so each word can be processed later.</summary>
    public static IReadOnlyList<string> SplitRaw(string text, char escape = '\\')
    {
        ArgumentNullException.ThrowIfNull(text);
        var words = new List<string>();
        var word = new StringBuilder();
        char quote = '\0';
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (quote == '\0' && char.IsWhiteSpace(c))
            {
                if (word.Length > 0)
                {
                    words.Add(word.ToString());
                    word.Clear();
                }

                continue;
            }

            word.Append(c);
            if (c == escape && quote != '\'' && i + 1 < text.Length)
            {
                word.Append(text[++i]);
            }
            else if (quote == '\0' && c is '"' or '\'')
            {
                quote = c;
            }
            else if (c == quote)
            {
                quote = '\0';
            }
        }

        if (word.Length > 0)
        {
            words.Add(word.ToString());
        }

        return words;
    }
}
