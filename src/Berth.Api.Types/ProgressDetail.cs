using System.Globalization;
using System.Text.Json.Serialization;

namespace Berth.Api.Types;

/// <summary>
/// A progress message's <c>progressDetail</c>: bytes done and bytes in all. The docker CLI draws its bar from these
/// (on a terminal) and hides messages that carry them otherwise; <see cref="Render"/> is the same text it draws.
/// </summary>
public sealed record ProgressDetail
{
    [JsonPropertyName("current")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public long Current { get; init; }

    [JsonPropertyName("total")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public long Total { get; init; }

    /// <summary>Whether there is anything to draw (docker's JSONProgress.String is empty otherwise).</summary>
    [JsonIgnore]
    public bool HasProgress => Current > 0 || Total > 0;

    /// <summary>
    /// Docker's bar for a terminal <paramref name="width"/> columns wide: <c>[=====&gt;    ]  12.35MB/45.6MB</c>; the
    /// bar only on terminals wider than 110 columns, as docker.
    /// </summary>
    public string Render(int width = 200)
    {
        if (!HasProgress)
        {
            return "";
        }

        if (Total <= 0)
        {
            return string.Format(CultureInfo.InvariantCulture, "{0,8}", HumanSize(Current));
        }

        int percentage = Math.Min(50, (int)((double)Current / Total * 100) / 2);
        string bar = width > 110 ? "[" + new string('=', percentage) + ">" + new string(' ', 50 - percentage) + "] " : "";
        string numbers = Current > Total ? "" : string.Format(CultureInfo.InvariantCulture, "{0,8}/{1}", HumanSize(Current), HumanSize(Total));
        return bar + numbers;
    }

    /// <summary>go-units' HumanSize: decimal units, four significant digits (<c>12.35MB</c>, <c>1.2kB</c>, <c>512B</c>).</summary>
    public static string HumanSize(double size)
    {
        string[] units = ["B", "kB", "MB", "GB", "TB", "PB"];
        int unit = 0;
        while (size >= 1000 && unit < units.Length - 1)
        {
            size /= 1000;
            unit++;
        }

        return size.ToString("G4", CultureInfo.InvariantCulture) + units[unit];
    }
}
