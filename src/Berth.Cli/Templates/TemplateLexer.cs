using System.Globalization;
using System.Text;

namespace Berth.Cli.Templates;

internal enum TokenKind
{
    Field,      // .Name (Text = Name)
    Dot,        // .
    Variable,   // $ or $name (Text includes '$')
    Identifier, // function names and keywords
    String,     // Value = unquoted string
    Number,     // Value = long or double
    Bool,       // Value = bool
    Nil,
    LeftParen,
    RightParen,
    Pipe,
    Comma,
    Declare,    // :=
    Assign,     // =
}

/// <summary>One token of an action; <see cref="Adjacent"/> says no space came before it (for field chains such as <c>$x.Name</c>).</summary>
internal readonly record struct Token(TokenKind Kind, string Text, object? Value, bool Adjacent);

/// <summary>A piece of the template source: literal text or the inside of one <c>{{ }}</c> action.</summary>
internal readonly record struct Segment(bool IsAction, string Text, int Line, int Column);

/// <summary>
/// Splits a Go text/template into text and actions (honouring <c>{{-</c> / <c>-}}</c> trim markers and
/// <c>{{/* comments */}}</c>) and tokenizes the actions.
/// </summary>
internal static class TemplateLexer
{
    public static List<Segment> Split(string source)
    {
        var segments = new List<Segment>();
        int pos = 0;
        bool trimNextText = false;
        while (pos <= source.Length)
        {
            int open = source.IndexOf("{{", pos, StringComparison.Ordinal);
            string text = open < 0 ? source[pos..] : source[pos..open];
            if (trimNextText)
            {
                text = text.TrimStart(' ', '\t', '\r', '\n');
            }

            if (open < 0)
            {
                AddText(segments, text, source, pos);
                break;
            }

            int start = open + 2;
            if (start + 1 < source.Length && source[start] == '-' && IsSpace(source[start + 1]))
            {
                text = text.TrimEnd(' ', '\t', '\r', '\n');
                start += 2;
            }

            AddText(segments, text, source, pos);
            (int Line, int Column) where = Position(source, open);
            int close = FindClose(source, start, where);
            int end = close;
            trimNextText = false;
            if (end - start >= 2 && source[end - 1] == '-' && IsSpace(source[end - 2]))
            {
                trimNextText = true;
                end -= 2;
            }

            string action = source[start..end];
            string trimmed = action.Trim(' ', '\t', '\r', '\n');
            if (trimmed.StartsWith("/*", StringComparison.Ordinal))
            {
                if (!trimmed.EndsWith("*/", StringComparison.Ordinal))
                {
                    throw new TemplateException($"template: :{where.Line}: comment ends before closing delimiter");
                }
            }
            else
            {
                segments.Add(new Segment(true, action, where.Line, where.Column));
            }

            pos = close + 2;
        }

        return segments;
    }

    public static List<Token> Tokenize(Segment action)
    {
        string s = action.Text;
        var tokens = new List<Token>();
        int i = 0;
        bool adjacent = false;
        while (i < s.Length)
        {
            char c = s[i];
            if (IsSpace(c))
            {
                i++;
                adjacent = false;
                continue;
            }

            int begin = i;
            Token token;
            if (c == '.' && i + 1 < s.Length && IsIdentStart(s[i + 1]))
            {
                i++;
                int nameStart = i;
                while (i < s.Length && IsIdentPart(s[i]))
                {
                    i++;
                }

                token = new Token(TokenKind.Field, s[nameStart..i], null, adjacent);
            }
            else if (c == '.' && (i + 1 >= s.Length || !char.IsAsciiDigit(s[i + 1])))
            {
                i++;
                token = new Token(TokenKind.Dot, ".", null, adjacent);
            }
            else if (c == '$')
            {
                i++;
                while (i < s.Length && IsIdentPart(s[i]))
                {
                    i++;
                }

                token = new Token(TokenKind.Variable, s[begin..i], null, adjacent);
            }
            else if (c == '"')
            {
                (string value, int next) = ReadQuoted(s, i, action);
                i = next;
                token = new Token(TokenKind.String, s[begin..i], value, adjacent);
            }
            else if (c == '`')
            {
                int endQuote = s.IndexOf('`', i + 1);
                if (endQuote < 0)
                {
                    throw Error(action, "unterminated raw quoted string");
                }

                i = endQuote + 1;
                token = new Token(TokenKind.String, s[begin..i], s[(begin + 1)..endQuote], adjacent);
            }
            else if (c == '\'')
            {
                (string value, int next) = ReadQuoted(s, i, action);
                i = next;
                if (value.EnumerateRunes().Count() != 1)
                {
                    throw Error(action, $"malformed character constant: {s[begin..i]}");
                }

                token = new Token(TokenKind.Number, s[begin..i], (long)value.EnumerateRunes().First().Value, adjacent);
            }
            else if (char.IsAsciiDigit(c) || ((c == '-' || c == '+' || c == '.') && i + 1 < s.Length && (char.IsAsciiDigit(s[i + 1]) || s[i + 1] == '.')))
            {
                i++;
                while (i < s.Length && (char.IsAsciiLetterOrDigit(s[i]) || s[i] == '.' || s[i] == '_'
                    || ((s[i] == '-' || s[i] == '+') && (s[i - 1] == 'e' || s[i - 1] == 'E' || s[i - 1] == 'p' || s[i - 1] == 'P'))))
                {
                    i++;
                }

                string text = s[begin..i];
                token = new Token(TokenKind.Number, text, ParseNumber(text, action), adjacent);
            }
            else if (IsIdentStart(c))
            {
                while (i < s.Length && IsIdentPart(s[i]))
                {
                    i++;
                }

                string word = s[begin..i];
                token = word switch
                {
                    "true" => new Token(TokenKind.Bool, word, true, adjacent),
                    "false" => new Token(TokenKind.Bool, word, false, adjacent),
                    "nil" => new Token(TokenKind.Nil, word, null, adjacent),
                    _ => new Token(TokenKind.Identifier, word, null, adjacent),
                };
            }
            else if (c == ':' && i + 1 < s.Length && s[i + 1] == '=')
            {
                i += 2;
                token = new Token(TokenKind.Declare, ":=", null, adjacent);
            }
            else
            {
                i++;
                token = c switch
                {
                    '(' => new Token(TokenKind.LeftParen, "(", null, adjacent),
                    ')' => new Token(TokenKind.RightParen, ")", null, adjacent),
                    '|' => new Token(TokenKind.Pipe, "|", null, adjacent),
                    ',' => new Token(TokenKind.Comma, ",", null, adjacent),
                    '=' => new Token(TokenKind.Assign, "=", null, adjacent),
                    _ => throw Error(action, $"unexpected \"{c}\" in command"),
                };
            }

            tokens.Add(token);
            adjacent = true;
        }

        return tokens;
    }

    private static void AddText(List<Segment> segments, string text, string source, int at)
    {
        if (text.Length > 0)
        {
            (int line, int column) = Position(source, at);
            segments.Add(new Segment(false, text, line, column));
        }
    }

    private static int FindClose(string source, int start, (int Line, int Column) where)
    {
        int i = start;
        while (i < source.Length)
        {
            char c = source[i];
            if (c == '}' && i + 1 < source.Length && source[i + 1] == '}')
            {
                return i;
            }

            if (c == '"' || c == '\'')
            {
                i++;
                while (i < source.Length && source[i] != c)
                {
                    if (source[i] == '\\')
                    {
                        i++;
                    }
                    else if (source[i] == '\n')
                    {
                        throw new TemplateException($"template: :{where.Line}: unterminated quoted string");
                    }

                    i++;
                }
            }
            else if (c == '`')
            {
                int end = source.IndexOf('`', i + 1);
                if (end < 0)
                {
                    throw new TemplateException($"template: :{where.Line}: unterminated raw quoted string");
                }

                i = end;
            }
            else if (c == '/' && i + 1 < source.Length && source[i + 1] == '*')
            {
                int end = source.IndexOf("*/", i + 2, StringComparison.Ordinal);
                if (end < 0)
                {
                    throw new TemplateException($"template: :{where.Line}: unclosed comment");
                }

                i = end + 1;
            }

            i++;
        }

        throw new TemplateException($"template: :{where.Line}: unclosed action");
    }

    private static (string Value, int Next) ReadQuoted(string s, int start, Segment action)
    {
        char quote = s[start];
        var sb = new StringBuilder();
        int i = start + 1;
        while (true)
        {
            if (i >= s.Length)
            {
                throw Error(action, "unterminated quoted string");
            }

            char c = s[i];
            if (c == quote)
            {
                return (sb.ToString(), i + 1);
            }

            if (c != '\\')
            {
                sb.Append(c);
                i++;
                continue;
            }

            if (i + 1 >= s.Length)
            {
                throw Error(action, "unterminated quoted string");
            }

            char e = s[i + 1];
            i += 2;
            switch (e)
            {
                case 'n': sb.Append('\n'); break;
                case 't': sb.Append('\t'); break;
                case 'r': sb.Append('\r'); break;
                case 'a': sb.Append('\a'); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'v': sb.Append('\v'); break;
                case '\\': sb.Append('\\'); break;
                case '"': sb.Append('"'); break;
                case '\'': sb.Append('\''); break;
                case 'x':
                    sb.Append((char)ParseHex(s, ref i, 2, action));
                    break;
                case 'u':
                    sb.Append(char.ConvertFromUtf32(ParseHex(s, ref i, 4, action)));
                    break;
                case 'U':
                    sb.Append(char.ConvertFromUtf32(ParseHex(s, ref i, 8, action)));
                    break;
                case >= '0' and <= '7':
                    if (i + 1 >= s.Length)
                    {
                        throw Error(action, "invalid syntax");
                    }

                    sb.Append((char)Convert.ToInt32(s.Substring(i - 1, 3), 8));
                    i += 2;
                    break;
                default:
                    throw Error(action, "invalid syntax");
            }
        }
    }

    private static int ParseHex(string s, ref int i, int digits, Segment action)
    {
        if (i + digits > s.Length
            || !int.TryParse(s.AsSpan(i, digits), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int value))
        {
            throw Error(action, "invalid syntax");
        }

        i += digits;
        return value;
    }

    private static object ParseNumber(string text, Segment action)
    {
        string t = text.Replace("_", "", StringComparison.Ordinal);
        bool negative = t.StartsWith('-');
        string body = t.TrimStart('-', '+');
        if (body.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            && long.TryParse(body.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out long hex))
        {
            return negative ? -hex : hex;
        }

        if (long.TryParse(t, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long integer))
        {
            return integer;
        }

        if (double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double real))
        {
            return real;
        }

        throw Error(action, $"bad number syntax: \"{text}\"");
    }

    private static (int Line, int Column) Position(string source, int index)
    {
        int line = 1;
        int lineStart = 0;
        for (int i = 0; i < index && i < source.Length; i++)
        {
            if (source[i] == '\n')
            {
                line++;
                lineStart = i + 1;
            }
        }

        return (line, index - lineStart);
    }

    private static TemplateException Error(Segment action, string message) => new($"template: :{action.Line}: {message}");

    private static bool IsSpace(char c) => c is ' ' or '\t' or '\r' or '\n';

    private static bool IsIdentStart(char c) => char.IsLetter(c) || c == '_';

    private static bool IsIdentPart(char c) => char.IsLetterOrDigit(c) || c == '_';
}

/// <summary>A template that cannot be parsed or executed; the message reads like Go's.</summary>
internal sealed class TemplateException(string message) : Exception(message);
