namespace Berth.Cli.Options;

/// <summary><c>k=v</c> flag values (a bare <c>k</c> has an empty value), as docker's map and label options take them.</summary>
internal static class KeyValues
{
    public static (string Key, string Value) Split(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        int eq = value.IndexOf('=', StringComparison.Ordinal);
        return eq < 0 ? (value, "") : (value[..eq], value[(eq + 1)..]);
    }

    /// <summary>The pairs as a map; a later key replaces an earlier one.</summary>
    public static Dictionary<string, string> ToMap(IEnumerable<string> values)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string value in values)
        {
            (string key, string item) = Split(value);
            map[key] = item;
        }

        return map;
    }
}
