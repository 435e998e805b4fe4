using System.Globalization;
using Berth.Api.Types;
using Berth.Primitives;

namespace Berth.Engine.Containers;

/// <summary>
/// The logging driver of a container: json-file (the default; <c>local</c> is written the same way) with Docker's
/// <c>max-size</c>/<c>max-file</c> rotation, or <c>none</c>. Checked at create with dockerd's messages.
/// </summary>
internal sealed record LogSettings(bool Enabled, long MaxSize, int MaxFiles)
{
    public const string None = "none";
    private static readonly HashSet<string> KnownOptions = new(StringComparer.Ordinal) { "max-size", "max-file", "compress", "labels", "labels-regex", "env", "env-regex", "tag", "mode", "max-buffer-size" };

    /// <summary>The host config with its log config checked and the driver named; 400 for what dockerd refuses.</summary>
    public static HostConfig Validate(HostConfig hostConfig)
    {
        LogConfig config = hostConfig.LogConfig ?? new LogConfig();
        string type = string.IsNullOrEmpty(config.Type) ? "json-file" : config.Type;
        if (type is not ("json-file" or "local" or None))
        {
            throw EngineException.Invalid($"logger: no log driver named '{type}' is registered");
        }

        foreach (string key in (config.Config ?? []).Keys)
        {
            if (type == None || !KnownOptions.Contains(key))
            {
                throw EngineException.Invalid($"unknown log opt '{key}' for {type} log driver");
            }
        }

        _ = From(config with { Type = type });
        return hostConfig with { LogConfig = config with { Type = type, Config = config.Config ?? [] } };
    }

    public static LogSettings From(LogConfig? config)
    {
        if (config?.Type == None)
        {
            return new LogSettings(false, 0, 1);
        }

        Dictionary<string, string> options = config?.Config ?? [];
        long maxSize = 0;
        if (options.TryGetValue("max-size", out string? size) && size != "-1" && !TryParseSize(size, out maxSize))
        {
            throw EngineException.Invalid($"invalid size: '{size}'");
        }

        int maxFiles = 1;
        if (options.TryGetValue("max-file", out string? files))
        {
            if (!int.TryParse(files, NumberStyles.None, CultureInfo.InvariantCulture, out maxFiles))
            {
                throw EngineException.Invalid($"strconv.Atoi: parsing \"{files}\": invalid syntax");
            }

            if (maxFiles < 1)
            {
                throw EngineException.Invalid("max-file cannot be less than 1");
            }

            if (maxFiles > 1 && maxSize <= 0)
            {
                throw EngineException.Invalid("max-file cannot be set when max-size is not set");
            }
        }

        return new LogSettings(true, maxSize, maxFiles);
    }

    /// <summary>Docker's RAMInBytes: a number with an optional k/m/g/t (binary multiples, "b" suffix allowed).</summary>
    private static bool TryParseSize(string text, out long bytes)
    {
        bytes = 0;
        string s = text.Trim().ToLowerInvariant();
        if (s.EndsWith("ib", StringComparison.Ordinal) || (s.EndsWith('b') && s.Length > 1 && char.IsLetter(s[^2])))
        {
            s = s[..^(s.EndsWith("ib", StringComparison.Ordinal) ? 2 : 1)];
        }
        else if (s.EndsWith('b'))
        {
            s = s[..^1];
        }

        long multiplier = 1;
        if (s.Length > 0 && char.IsLetter(s[^1]))
        {
            multiplier = s[^1] switch { 'k' => 1L << 10, 'm' => 1L << 20, 'g' => 1L << 30, 't' => 1L << 40, _ => 0 };
            s = s[..^1];
        }

        if (multiplier == 0 || !double.TryParse(s, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double value) || value <= 0)
        {
            return false;
        }

        bytes = (long)(value * multiplier);
        return bytes > 0;
    }
}
