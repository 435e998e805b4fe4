using System.Globalization;

namespace Berth.Cli;

/// <summary>docker/go-units: human sizes and durations, and Go's <c>%g</c>.</summary>
internal static class Units
{
    private static readonly string[] DecimalUnits = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    private static readonly string[] BinaryUnits = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];

    /// <summary><c>HumanSizeWithPrecision</c>: decimal units (1000), e.g. <c>1.24MB</c> for precision 3.</summary>
    public static string HumanSize(double size, int precision = 4) => Scaled(size, 1000, DecimalUnits, precision);

    /// <summary><c>BytesSize</c>: binary units (1024) with precision 4, e.g. <c>31.26GiB</c>.</summary>
    public static string BytesSize(double size) => Scaled(size, 1024, BinaryUnits, 4);

    private static string Scaled(double size, double unitBase, string[] units, int precision)
    {
        int i = 0;
        while (size >= unitBase && i < units.Length - 1)
        {
            size /= unitBase;
            i++;
        }

        return FormatG(size, precision) + units[i];
    }

    /// <summary>Go's <c>fmt.Sprintf("%.{precision}g", value)</c>.</summary>
    public static string FormatG(double value, int precision)
    {
        if (precision <= 0)
        {
            precision = 1;
        }

        if (value == 0)
        {
            return "0";
        }

        if (double.IsNaN(value) || double.IsInfinity(value))
        {
            return double.IsNaN(value) ? "NaN" : value > 0 ? "+Inf" : "-Inf";
        }

        // Round to the significant digits first: the exponent of the rounded value decides the form.
        string scientific = value.ToString("E" + (precision - 1).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        int ePos = scientific.IndexOf('E', StringComparison.Ordinal);
        int exponent = int.Parse(scientific.AsSpan(ePos + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        if (exponent < -4 || exponent >= precision)
        {
            string mantissa = TrimZeros(scientific[..ePos]);
            return mantissa + "e" + (exponent < 0 ? "-" : "+") + Math.Abs(exponent).ToString("00", CultureInfo.InvariantCulture);
        }

        int decimals = Math.Max(0, precision - 1 - exponent);
        return TrimZeros(value.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture));
    }

    private static string TrimZeros(string s) => s.Contains('.', StringComparison.Ordinal) ? s.TrimEnd('0').TrimEnd('.') : s;

    /// <summary>go-units <c>HumanDuration</c>: "Less than a second", "About a minute", "3 hours", "2 weeks"...</summary>
    public static string HumanDuration(TimeSpan d)
    {
        long seconds = (long)d.TotalSeconds;
        if (seconds < 1)
        {
            return "Less than a second";
        }

        if (seconds == 1)
        {
            return "1 second";
        }

        if (seconds < 60)
        {
            return $"{seconds} seconds";
        }

        long minutes = (long)d.TotalMinutes;
        if (minutes == 1)
        {
            return "About a minute";
        }

        if (minutes < 60)
        {
            return $"{minutes} minutes";
        }

        long hours = (long)(d.TotalHours + 0.5);
        if (hours == 1)
        {
            return "About an hour";
        }

        if (hours < 48)
        {
            return $"{hours} hours";
        }

        if (hours < 24 * 7 * 2)
        {
            return $"{hours / 24} days";
        }

        if (hours < 24 * 30 * 2)
        {
            return $"{hours / 24 / 7} weeks";
        }

        if (hours < 24 * 365 * 2)
        {
            return $"{hours / 24 / 30} months";
        }

        return $"{(long)d.TotalHours / 24 / 365} years";
    }

    /// <summary>Go's <c>time.Time.String()</c> in local time: <c>2025-02-26 10:41:08 +0000 UTC</c>.</summary>
    public static string GoTimeString(DateTimeOffset utc, TimeZoneInfo zone)
    {
        DateTimeOffset local = TimeZoneInfo.ConvertTime(utc, zone);
        TimeSpan offset = local.Offset;
        string sign = offset < TimeSpan.Zero ? "-" : "+";
        string numeric = sign + Math.Abs(offset.Hours).ToString("00", CultureInfo.InvariantCulture) + Math.Abs(offset.Minutes).ToString("00", CultureInfo.InvariantCulture);
        string name = offset == TimeSpan.Zero && (zone == TimeZoneInfo.Utc || zone.Id is "UTC" or "Etc/UTC" or "Universal" or "Zulu")
            ? "UTC"
            : ZoneAbbreviation(zone, local) ?? numeric;
        return local.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + " " + numeric + " " + name;
    }

    /// <summary>Go's <c>time.ANSIC</c> layout (<c>Mon Jan  2 15:04:05 2006</c>), as <c>docker version</c> shows build times.</summary>
    public static string AnsiC(DateTimeOffset time) =>
        time.ToString("ddd MMM ", CultureInfo.InvariantCulture) + time.Day.ToString(CultureInfo.InvariantCulture).PadLeft(2)
        + time.ToString(" HH:mm:ss yyyy", CultureInfo.InvariantCulture);

    private static string? ZoneAbbreviation(TimeZoneInfo zone, DateTimeOffset local)
    {
        string name = zone.IsDaylightSavingTime(local) ? zone.DaylightName : zone.StandardName;
        return name.Length is > 0 and <= 5 && name.All(char.IsAsciiLetterUpper) ? name : null;
    }

    /// <summary>
    /// docker/go-units <c>RAMInBytes</c>: <c>512m</c>, <c>1.5g</c>, <c>100k</c>, <c>1024</c> (binary multipliers).
    /// </summary>
    /// <exception cref="FormatException">Not a size.</exception>
    public static long RamInBytes(string text)
    {
        string s = text.Trim();
        int i = 0;
        while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.'))
        {
            i++;
        }

        if (i == 0 || !double.TryParse(s.AsSpan(0, i), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double number))
        {
            throw new FormatException($"invalid size: '{text}'");
        }

        string suffix = s[i..].Trim().ToLowerInvariant();
        if (suffix.EndsWith('b'))
        {
            suffix = suffix[..^1];
        }

        if (suffix.EndsWith('i'))
        {
            suffix = suffix[..^1];
        }

        double multiplier = suffix switch
        {
            "" => 1,
            "k" => 1L << 10,
            "m" => 1L << 20,
            "g" => 1L << 30,
            "t" => 1L << 40,
            "p" => 1L << 50,
            _ => throw new FormatException($"invalid size: '{text}'"),
        };

        return (long)(number * multiplier);
    }

    /// <summary>Go's <c>time.ParseDuration</c> (<c>300ms</c>, <c>1h30m</c>, <c>-1.5h</c>).</summary>
    public static bool TryParseGoDuration(string text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        string s = text.Trim();
        if (s.Length == 0)
        {
            return false;
        }

        bool negative = false;
        if (s[0] is '-' or '+')
        {
            negative = s[0] == '-';
            s = s[1..];
        }

        if (s == "0")
        {
            return true;
        }

        double totalTicks = 0;
        int i = 0;
        while (i < s.Length)
        {
            int start = i;
            while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.'))
            {
                i++;
            }

            if (i == start || !double.TryParse(s.AsSpan(start, i - start), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double value))
            {
                return false;
            }

            int unitStart = i;
            while (i < s.Length && !char.IsAsciiDigit(s[i]) && s[i] != '.')
            {
                i++;
            }

            double ticksPerUnit = s[unitStart..i] switch
            {
                "ns" => 0.01,
                "us" or "µs" or "μs" => 10,
                "ms" => TimeSpan.TicksPerMillisecond,
                "s" => TimeSpan.TicksPerSecond,
                "m" => TimeSpan.TicksPerMinute,
                "h" => TimeSpan.TicksPerHour,
                _ => -1,
            };
            if (ticksPerUnit < 0)
            {
                return false;
            }

            totalTicks += value * ticksPerUnit;
        }

        duration = TimeSpan.FromTicks((long)(negative ? -totalTicks : totalTicks));
        return true;
    }
}
