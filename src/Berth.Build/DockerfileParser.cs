using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Berth.Build;

/// <summary>
/// Parses Dockerfile text per the Dockerfile reference: parser directives, comments, line continuations with the
/// escape token, exec and shell forms, flags and here-documents. Pure: no I/O, no evaluation.
/// </summary>
public static partial class DockerfileParser
{
    public static readonly IReadOnlySet<string> Keywords = new HashSet<string>(StringComparer.Ordinal)
    {
        "FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME", "USER",
        "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL",
    };

    /// <summary>Instructions whose arguments may be a JSON array.</summary>
    private static readonly HashSet<string> JsonForms = new(StringComparer.Ordinal) { "RUN", "CMD", "ENTRYPOINT", "SHELL", "COPY", "ADD", "VOLUME" };

    /// <summary>Instructions that take <c>--flag</c> options before their arguments.</summary>
    private static readonly HashSet<string> FlagForms = new(StringComparer.Ordinal) { "FROM", "RUN", "COPY", "ADD", "HEALTHCHECK" };

    private static readonly HashSet<string> HeredocForms = new(StringComparer.Ordinal) { "RUN", "COPY", "ADD" };

    /// <summary>
    /// The flags each instruction takes (the reference's, BuildKit's included): any other is an error, as Docker's
    /// builders make it, rather than an option silently ignored.
    /// </summary>
    private static readonly Dictionary<string, HashSet<string>> KnownFlags = new(StringComparer.Ordinal)
    {
        ["FROM"] = new(StringComparer.OrdinalIgnoreCase) { "platform" },
        ["RUN"] = new(StringComparer.OrdinalIgnoreCase) { "mount", "network", "security" },
        ["COPY"] = new(StringComparer.OrdinalIgnoreCase) { "from", "chown", "chmod", "link", "parents", "exclude" },
        ["ADD"] = new(StringComparer.OrdinalIgnoreCase) { "chown", "chmod", "link", "checksum", "keep-git-dir", "exclude", "unpack" },
        ["HEALTHCHECK"] = new(StringComparer.OrdinalIgnoreCase) { "interval", "timeout", "start-period", "start-interval", "retries" },
    };

    [GeneratedRegex(@"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.*?)\s*$")]
    private static partial Regex DirectivePattern();

    [GeneratedRegex(@"<<(-?)([""']?)([A-Za-z_][A-Za-z0-9_]*)\2")]
    private static partial Regex HeredocPattern();

    public static DockerfileDocument Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string[] lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        var directives = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        int index = 0;
        for (; index < lines.Length; index++)
        {
            Match match = DirectivePattern().Match(lines[index]);
            if (!match.Success)
            {
                break;
            }

            string name = match.Groups[1].Value.ToLowerInvariant();
            if (name is not ("syntax" or "escape" or "check"))
            {
                // An unknown directive is a comment, and a comment ends the directives.
                break;
            }

            if (!directives.TryAdd(name, match.Groups[2].Value))
            {
                throw DockerfileException.AtLine(index + 1, $"only one {name} parser directive can be used");
            }
        }

        char escape = '\\';
        if (directives.TryGetValue("escape", out string? escapeValue))
        {
            escape = escapeValue switch
            {
                "\\" => '\\',
                "`" => '`',
                _ => throw DockerfileException.AtLine(1, $"invalid escape token '{escapeValue}' does not match ` or \\"),
            };
        }

        var instructions = new List<Instruction>();
        while (index < lines.Length)
        {
            string line = lines[index];
            string trimmed = line.TrimStart();
            if (trimmed.Length == 0 || trimmed[0] == '#')
            {
                index++;
                continue;
            }

            int start = index + 1;
            var logical = new StringBuilder();
            while (true)
            {
                string current = lines[index].TrimEnd();
                index++;
                if (current.Length > 0 && current[^1] == escape && index < lines.Length)
                {
                    logical.Append(current, 0, current.Length - 1);
                    // Comment lines and empty lines inside a continuation are dropped, as Docker does.
                    while (index < lines.Length && (lines[index].TrimStart().StartsWith('#') || lines[index].Trim().Length == 0))
                    {
                        index++;
                    }

                    if (index >= lines.Length)
                    {
                        break;
                    }

                    continue;
                }

                logical.Append(current.Length > 0 && current[^1] == escape ? current[..^1] : current);
                break;
            }

            Instruction instruction = ParseInstruction(start, logical.ToString().Trim());
            if (HeredocForms.Contains(instruction.Keyword) && instruction.Json is null)
            {
                var heredocs = new List<Heredoc>();
                foreach (Match match in HeredocPattern().Matches(instruction.Arguments))
                {
                    bool stripTabs = match.Groups[1].Value == "-";
                    string name = match.Groups[3].Value;
                    var content = new StringBuilder();
                    bool closed = false;
                    while (index < lines.Length)
                    {
                        string body = lines[index++];
                        if (stripTabs)
                        {
                            body = body.TrimStart('\t');
                        }

                        if (body == name)
                        {
                            closed = true;
                            break;
                        }

                        content.Append(body).Append('\n');
                    }

                    if (!closed)
                    {
                        throw DockerfileException.AtLine(start, $"unterminated heredoc {name}");
                    }

                    heredocs.Add(new Heredoc(name, content.ToString(), match.Groups[2].Value.Length == 0));
                }

                if (heredocs.Count > 0)
                {
                    instruction = instruction with { Heredocs = heredocs };
                }
            }

            instructions.Add(instruction);
        }

        return new DockerfileDocument(directives, instructions, escape);
    }

    private static Instruction ParseInstruction(int line, string text)
    {
        int space = IndexOfWhitespace(text, 0);
        string keyword = (space < 0 ? text : text[..space]).ToUpperInvariant();
        string rest = space < 0 ? "" : text[space..].TrimStart();
        if (!Keywords.Contains(keyword))
        {
            throw DockerfileException.AtLine(line, $"unknown instruction: {(space < 0 ? text : text[..space])}");
        }

        var flags = new List<string>();
        if (FlagForms.Contains(keyword))
        {
            while (rest.StartsWith("--", StringComparison.Ordinal))
            {
                int end = IndexOfWhitespace(rest, 0);
                string flag = end < 0 ? rest : rest[..end];
                if (flag == "--")
                {
                    break;
                }

                string name = flag[2..].Split('=', 2)[0];
                if (!KnownFlags[keyword].Contains(name))
                {
                    throw DockerfileException.AtLine(line, $"unknown flag: {name}");
                }

                flags.Add(flag[2..]);
                rest = end < 0 ? "" : rest[end..].TrimStart();
            }
        }

        IReadOnlyList<string>? json = JsonForms.Contains(keyword) ? TryParseJsonArray(rest) : null;
        if (keyword != "ONBUILD" && rest.Length == 0 && keyword is not ("CMD" or "ENTRYPOINT"))
        {
            throw DockerfileException.AtLine(line, $"{keyword} requires at least one argument");
        }

        return new Instruction { Line = line, Keyword = keyword, Original = text, Flags = flags, Arguments = rest, Json = json };
    }

    /// <summary>The exec form: a JSON array of strings; anything else (even a broken array) is shell form, as Docker treats it.</summary>
    public static IReadOnlyList<string>? TryParseJsonArray(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!text.StartsWith('['))
        {
            return null;
        }

        try
        {
            using JsonDocument document = JsonDocument.Parse(text);
            if (document.RootElement.ValueKind != JsonValueKind.Array)
            {
                return null;
            }

            var values = new List<string>();
            foreach (JsonElement element in document.RootElement.EnumerateArray())
            {
                if (element.ValueKind != JsonValueKind.String)
                {
                    return null;
                }

                values.Add(element.GetString()!);
            }

            return values;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static int IndexOfWhitespace(string text, int from)
    {
        for (int i = from; i < text.Length; i++)
        {
            if (char.IsWhiteSpace(text[i]))
            {
                return i;
            }
        }

        return -1;
    }
}
