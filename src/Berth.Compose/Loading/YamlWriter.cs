using System.Text;

namespace Berth.Compose.Loading;

/// <summary>Writes a compose tree as block-style YAML (what <c>compose config</c> prints), quoting only what must be.</summary>
public static class YamlWriter
{
    private static readonly string[] TopLevelOrder = ["name", "services", "networks", "volumes", "secrets", "configs"];

    /// <summary>The project's normalised model: fixed top-level order, services and their attributes sorted by name.</summary>
    public static string WriteProject(ComposeProject project)
    {
        var root = new MapNode(project.Root.Mark);
        foreach (string key in TopLevelOrder.Concat(project.Root.Keys.Where(k => !TopLevelOrder.Contains(k))))
        {
            if (project.Root[key] is not { } value || value is MapNode { Count: 0 } && key != "services")
            {
                continue;
            }

            root[key] = value;
        }

        if (root["services"] is MapNode services)
        {
            var sorted = new MapNode(services.Mark);
            foreach ((string name, ComposeNode node) in services.Entries.OrderBy(e => e.Key, StringComparer.Ordinal))
            {
                var service = (MapNode)node.Clone();
                if (service["networks"] is null && service["network_mode"] is null)
                {
                    var networks = new MapNode(service.Mark);
                    networks["default"] = new ScalarNode(null, service.Mark);
                    service["networks"] = networks;
                }

                var ordered = new MapNode(service.Mark);
                foreach ((string key, ComposeNode value) in service.Entries.OrderBy(e => e.Key, StringComparer.Ordinal))
                {
                    ordered[key] = value;
                }

                sorted[name] = ordered;
            }

            root["services"] = sorted;
        }

        var sb = new StringBuilder();
        WriteMap(sb, root, 0);
        return sb.ToString();
    }

    public static string Write(ComposeNode node)
    {
        var sb = new StringBuilder();
        switch (node)
        {
            case MapNode map:
                WriteMap(sb, map, 0);
                break;
            case SeqNode seq:
                WriteSeq(sb, seq, 0);
                break;
            default:
                sb.Append(Scalar((ScalarNode)node)).Append('\n');
                break;
        }

        return sb.ToString();
    }

    private static void WriteMap(StringBuilder sb, MapNode map, int indent)
    {
        foreach ((string key, ComposeNode value) in map.Entries)
        {
            sb.Append(' ', indent).Append(Key(key)).Append(':');
            WriteValue(sb, value, indent);
        }
    }

    private static void WriteSeq(StringBuilder sb, SeqNode seq, int indent)
    {
        foreach (ComposeNode item in seq.Items)
        {
            sb.Append(' ', indent).Append('-');
            if (item is MapNode { Count: > 0 } map)
            {
                // The first entry goes on the dash's line, the rest below it.
                bool first = true;
                foreach ((string key, ComposeNode value) in map.Entries)
                {
                    sb.Append(first ? " " : new string(' ', indent + 2)).Append(Key(key)).Append(':');
                    WriteValue(sb, value, indent + 2);
                    first = false;
                }
            }
            else
            {
                WriteValue(sb, item, indent);
            }
        }
    }

    private static void WriteValue(StringBuilder sb, ComposeNode value, int indent)
    {
        switch (value)
        {
            case MapNode { Count: 0 }:
                sb.Append(" {}\n");
                break;
            case MapNode map:
                sb.Append('\n');
                WriteMap(sb, map, indent + 2);
                break;
            case SeqNode { Items.Count: 0 }:
                sb.Append(" []\n");
                break;
            case SeqNode seq:
                sb.Append('\n');
                WriteSeq(sb, seq, indent + 2);
                break;
            case ScalarNode { IsNull: true }:
                sb.Append(" null\n");
                break;
            case ScalarNode scalar:
                sb.Append(' ').Append(Scalar(scalar)).Append('\n');
                break;
        }
    }

    private static string Key(string key) => NeedsQuotes(key, asString: true) ? Quote(key) : key;

    private static string Scalar(ScalarNode scalar)
    {
        string text = scalar.Value ?? "null";
        return NeedsQuotes(text, scalar.Quoted) ? Quote(text) : text;
    }

    /// <summary>Whether the plain form would read back differently (another type, or broken YAML).</summary>
    private static bool NeedsQuotes(string text, bool asString)
    {
        if (text.Length == 0 || text != text.Trim() || text.Contains('\n', StringComparison.Ordinal))
        {
            return true;
        }

        if (asString && new ScalarNode(text, default).Kind != ScalarKind.String || text is "~" or "null" or "Null" or "NULL" or "yes" or "no" or "on" or "off" or "y" or "n")
        {
            return true;
        }

        return "-?:,[]{}#&*!|>'\"%@`".Contains(text[0], StringComparison.Ordinal)
               || text.Contains(": ", StringComparison.Ordinal) || text.EndsWith(':') || text.Contains(" #", StringComparison.Ordinal)
               // "8080:80" would read as a YAML 1.1 base-60 number.
               || text.Contains(':', StringComparison.Ordinal) && text.All(c => char.IsAsciiDigit(c) || c is ':' or '.' or '-' or '/');
    }

    private static string Quote(string text)
    {
        var sb = new StringBuilder("\"");
        foreach (char c in text)
        {
            sb.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\t' => "\\t",
                _ => c.ToString(),
            });
        }

        return sb.Append('"').ToString();
    }
}
