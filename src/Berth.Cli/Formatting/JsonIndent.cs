using System.Text;

namespace Berth.Cli;

/// <summary>
/// Go's <c>json.Indent</c>: re-indents JSON text without re-encoding it (strings keep the daemon's
/// escaping; empty objects and arrays stay <c>{}</c> and <c>[]</c>). <c>docker inspect</c> prints this
/// way with a 4-space indent.
/// </summary>
internal static class JsonIndent
{
    public static string Indent(string json, string indent = "    ")
    {
        var sb = new StringBuilder(json.Length * 2);
        int depth = 0;
        bool inString = false;
        bool needIndent = false; // an opening bracket was written; indent before the next value unless it closes
        for (int i = 0; i < json.Length; i++)
        {
            char c = json[i];
            if (inString)
            {
                sb.Append(c);
                if (c == '\\' && i + 1 < json.Length)
                {
                    sb.Append(json[++i]);
                }
                else if (c == '"')
                {
                    inString = false;
                }

                continue;
            }

            if (c is ' ' or '\t' or '\r' or '\n')
            {
                continue;
            }

            if (needIndent && c is not (']' or '}'))
            {
                needIndent = false;
                depth++;
                NewLine(sb, depth, indent);
            }

            switch (c)
            {
                case '"':
                    inString = true;
                    sb.Append(c);
                    break;
                case '{':
                case '[':
                    sb.Append(c);
                    needIndent = true;
                    break;
                case ',':
                    sb.Append(c);
                    NewLine(sb, depth, indent);
                    break;
                case ':':
                    sb.Append(": ");
                    break;
                case '}':
                case ']':
                    if (needIndent)
                    {
                        needIndent = false; // empty: "{}" / "[]"
                    }
                    else
                    {
                        depth--;
                        NewLine(sb, depth, indent);
                    }

                    sb.Append(c);
                    break;
                default:
                    sb.Append(c);
                    break;
            }
        }

        return sb.ToString();
    }

    private static void NewLine(StringBuilder sb, int depth, string indent)
    {
        sb.Append('\n');
        for (int i = 0; i < depth; i++)
        {
            sb.Append(indent);
        }
    }
}
