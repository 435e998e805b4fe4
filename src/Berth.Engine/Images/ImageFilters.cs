using Berth.Images;
using Berth.Primitives;

namespace Berth.Engine.Images;

/// <summary>
/// The filters of GET /images/json and POST /images/prune, as Docker reads them: <c>dangling</c>, <c>reference</c>
/// (a glob over the familiar name, with or without its tag), <c>label</c> (<c>key</c> or <c>key=value</c>),
/// <c>before</c>/<c>since</c> (an image, compared by creation time) and, for prune, <c>until</c>.
/// </summary>
public static class ImageFilters
{
    private static readonly string[] ListKeys = ["dangling", "reference", "label", "before", "since", "until"];

    /// <summary>Refuses keys Docker does not know and bad <c>dangling</c> values (Docker's 400).</summary>
    public static void Validate(IReadOnlyDictionary<string, IReadOnlyList<string>> filters, IReadOnlyCollection<string>? keys = null)
    {
        foreach ((string key, IReadOnlyList<string> values) in filters)
        {
            if (!(keys ?? ListKeys).Contains(key))
            {
                throw EngineException.Invalid($"invalid filter '{key}'");
            }

            if (key == "dangling")
            {
                foreach (string value in values)
                {
                    if (!IsBool(value))
                    {
                        throw EngineException.Invalid($"invalid filter 'dangling={value}'");
                    }
                }
            }
        }
    }

    /// <summary>The value of the <c>dangling</c> filter, or null when it is absent.</summary>
    public static bool? Dangling(IReadOnlyDictionary<string, IReadOnlyList<string>> filters) =>
        filters.TryGetValue("dangling", out IReadOnlyList<string>? values) && values.Count > 0
            ? values.Any(v => v.Equals("true", StringComparison.OrdinalIgnoreCase) || v == "1")
            : null;

    /// <summary>Whether a label filter (<c>key</c> or <c>key=value</c>) holds for these labels.</summary>
    public static bool LabelMatches(IReadOnlyDictionary<string, string>? labels, string filter)
    {
        string[] parts = filter.Split('=', 2);
        return labels is not null && labels.TryGetValue(parts[0], out string? value) && (parts.Length == 1 || value == parts[1]);
    }

    /// <summary>
    /// Docker's reference filter: <paramref name="pattern"/> is a Go <c>path.Match</c> glob matched against the
    /// familiar <c>name:tag</c> and against the familiar name alone.
    /// </summary>
    public static bool ReferenceMatches(ImageReference reference, string pattern) =>
        GlobMatch(pattern, reference.FamiliarString) || GlobMatch(pattern, reference.FamiliarName);

    /// <summary>Go's <c>path.Match</c>: <c>*</c> and <c>?</c> never cross '/', <c>[a-z]</c> and <c>[^a]</c> classes, '\' escapes.</summary>
    public static bool GlobMatch(string pattern, string text) => Match(pattern, 0, text, 0);

    private static bool Match(string p, int pi, string s, int si)
    {
        while (pi < p.Length)
        {
            char c = p[pi];
            if (c == '*')
            {
                while (pi < p.Length && p[pi] == '*')
                {
                    pi++;
                }

                for (int k = si; ; k++)
                {
                    if (Match(p, pi, s, k))
                    {
                        return true;
                    }

                    if (k >= s.Length || s[k] == '/')
                    {
                        return false;
                    }
                }
            }

            if (si >= s.Length)
            {
                return false;
            }

            if (c == '?')
            {
                if (s[si] == '/')
                {
                    return false;
                }

                pi++;
                si++;
                continue;
            }

            if (c == '[')
            {
                int end = p.IndexOf(']', pi + 1);
                if (end < 0)
                {
                    return false;
                }

                string cls = p[(pi + 1)..end];
                bool negate = cls.StartsWith('^');
                if (negate)
                {
                    cls = cls[1..];
                }

                bool found = false;
                for (int i = 0; i < cls.Length; i++)
                {
                    if (i + 2 < cls.Length && cls[i + 1] == '-')
                    {
                        found |= s[si] >= cls[i] && s[si] <= cls[i + 2];
                        i += 2;
                    }
                    else
                    {
                        found |= s[si] == cls[i];
                    }
                }

                if (found == negate)
                {
                    return false;
                }

                pi = end + 1;
                si++;
                continue;
            }

            if (c == '\\' && pi + 1 < p.Length)
            {
                pi++;
                c = p[pi];
            }

            if (s[si] != c)
            {
                return false;
            }

            pi++;
            si++;
        }

        return si == s.Length;
    }

    /// <summary>
    /// Docker's timestamp filters (<c>until</c>): a Go duration before <paramref name="now"/> (<c>24h</c>, <c>1h30m</c>),
    /// Unix seconds (with an optional fraction), or an RFC 3339 date or date-time.
    /// </summary>
    public static DateTimeOffset ParseTimestamp(string value, DateTimeOffset now)
    {
        System.Text.RegularExpressions.Match duration = System.Text.RegularExpressions.Regex.Match(value, @"^(?:(\d+(?:\.\d+)?)(h|m|s|ms))+$");
        if (duration.Success)
        {
            TimeSpan total = TimeSpan.Zero;
            for (int i = 0; i < duration.Groups[1].Captures.Count; i++)
            {
                double n = double.Parse(duration.Groups[1].Captures[i].Value, System.Globalization.CultureInfo.InvariantCulture);
                total += duration.Groups[2].Captures[i].Value switch
                {
                    "h" => TimeSpan.FromHours(n),
                    "m" => TimeSpan.FromMinutes(n),
                    "s" => TimeSpan.FromSeconds(n),
                    _ => TimeSpan.FromMilliseconds(n),
                };
            }

            return now - total;
        }

        if (double.TryParse(value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double seconds))
        {
            return DateTimeOffset.FromUnixTimeMilliseconds((long)(seconds * 1000));
        }

        if (DateTimeOffset.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out DateTimeOffset time))
        {
            return time;
        }

        throw EngineException.Invalid($"failed to parse value {value} as a timestamp");
    }

    private static bool IsBool(string value) =>
        value.Equals("true", StringComparison.OrdinalIgnoreCase) || value.Equals("false", StringComparison.OrdinalIgnoreCase) || value is "1" or "0";

    /// <summary>Whether an image passes every filter; <paramref name="find"/> resolves before/since.</summary>
    public static bool Matches(ImageView view, IReadOnlyDictionary<string, IReadOnlyList<string>> filters, Func<string, ImageView> find)
    {
        if (Dangling(filters) is bool dangling && dangling != view.Tags.IsEmpty)
        {
            return false;
        }

        if (filters.TryGetValue("label", out IReadOnlyList<string>? labels)
            && !labels.All(l => LabelMatches(view.Record.Config.Config.Labels, l)))
        {
            return false;
        }

        DateTimeOffset created = view.Record.Config.Created ?? DateTimeOffset.MinValue;
        if (filters.TryGetValue("before", out IReadOnlyList<string>? before)
            && before.Any(b => created >= (find(b).Record.Config.Created ?? DateTimeOffset.MinValue)))
        {
            return false;
        }

        if (filters.TryGetValue("since", out IReadOnlyList<string>? since)
            && since.Any(b => created <= (find(b).Record.Config.Created ?? DateTimeOffset.MinValue)))
        {
            return false;
        }

        if (filters.TryGetValue("until", out IReadOnlyList<string>? until)
            && until.Any(u => created >= ParseTimestamp(u, DateTimeOffset.UtcNow)))
        {
            return false;
        }

        if (filters.TryGetValue("reference", out IReadOnlyList<string>? references) && references.Count > 0
            && !view.Tags.Any(t => references.Any(r => ReferenceMatches(t, r))))
        {
            return false;
        }

        return true;
    }
}
