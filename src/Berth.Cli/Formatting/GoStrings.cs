using System.Globalization;
using System.Text;

namespace Berth.Cli;

/// <summary>String helpers that reproduce what docker's Go code prints.</summary>
internal static class GoStrings
{
    /// <summary>Go's <c>strconv.Quote</c>: double quotes, Go escapes, printable Unicode kept.</summary>
    public static string Quote(string s)
    {
        var sb = new StringBuilder(s.Length + 2);
        sb.Append('"');
        foreach (Rune r in s.EnumerateRunes())
        {
            switch (r.Value)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\a': sb.Append("\\a"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\v': sb.Append("\\v"); break;
                default:
                    if (r.Value < 0x20 || r.Value == 0x7f)
                    {
                        sb.Append("\\x").Append(r.Value.ToString("x2", CultureInfo.InvariantCulture));
                    }
                    else if (r == Rune.ReplacementChar || Rune.GetUnicodeCategory(r) is UnicodeCategory.Control or UnicodeCategory.Format
                        or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned
                        or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator)
                    {
                        sb.Append(r.Value <= 0xFFFF
                            ? "\\u" + r.Value.ToString("x4", CultureInfo.InvariantCulture)
                            : "\\U" + r.Value.ToString("x8", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        sb.Append(r.ToString());
                    }

                    break;
            }
        }

        sb.Append('"');
        return sb.ToString();
    }

    /// <summary>Docker's <c>formatter.Ellipsis</c>: at most <paramref name="max"/> characters, the last one '…' when cut.</summary>
    public static string Ellipsis(string s, int max)
    {
        if (max <= 0)
        {
            return "";
        }

        var runes = s.EnumerateRunes().ToList();
        if (runes.Count <= max)
        {
            return s;
        }

        if (max == 1)
        {
            return runes[0].ToString();
        }

        return string.Concat(runes.Take(max - 1).Select(r => r.ToString())) + "…";
    }

    /// <summary>Docker's <c>stringid.TruncateID</c>: drops an algorithm prefix and keeps 12 characters.</summary>
    public static string TruncateId(string id)
    {
        int colon = id.IndexOf(':', StringComparison.Ordinal);
        if (colon >= 0)
        {
            id = id[(colon + 1)..];
        }

        return id.Length > 12 ? id[..12] : id;
    }

    /// <summary>The number of characters a terminal column counts (runes, as Go's tabwriter does).</summary>
    public static int Width(string s)
    {
        int n = 0;
        foreach (Rune _ in s.EnumerateRunes())
        {
            n++;
        }

        return n;
    }
}
