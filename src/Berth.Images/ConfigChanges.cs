using System.Text.Json;
using Berth.Primitives;

namespace Berth.Images;

/// <summary>
/// The Dockerfile instructions <c>commit --change</c> and <c>import --change</c> accept (CMD, ENTRYPOINT, ENV,
/// EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR), applied to an image's runtime config.
/// </summary>
public static class ConfigChanges
{
    public static ImageRuntimeConfig Apply(ImageRuntimeConfig config, IEnumerable<string> changes)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(changes);
        foreach (string change in changes)
        {
            string line = change.Trim();
            if (line.Length == 0)
            {
                continue;
            }

            int space = line.IndexOfAny([' ', '\t']);
            string instruction = (space < 0 ? line : line[..space]).ToUpperInvariant();
            string rest = space < 0 ? "" : line[(space + 1)..].Trim();
            config = instruction switch
            {
                "CMD" => config with { Cmd = Command(rest) },
                "ENTRYPOINT" => config with { Entrypoint = Command(rest) },
                "ENV" => config with { Env = Merge(config.Env, Pairs(rest, "ENV").Select(p => p.Key + "=" + p.Value)) },
                "LABEL" => config with { Labels = With(config.Labels, Pairs(rest, "LABEL")) },
                "EXPOSE" => config with { ExposedPorts = WithKeys(config.ExposedPorts, rest.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(p => p.Contains('/', StringComparison.Ordinal) ? p : p + "/tcp")) },
                "VOLUME" => config with { Volumes = WithKeys(config.Volumes, rest.StartsWith('[') ? JsonArray(rest) : rest.Split(' ', StringSplitOptions.RemoveEmptyEntries)) },
                "USER" => config with { User = rest },
                "WORKDIR" => config with { WorkingDir = rest },
                "STOPSIGNAL" => config with { StopSignal = rest },
                "ONBUILD" => config with { OnBuild = [.. config.OnBuild ?? [], rest] },
                _ => throw EngineException.Invalid($"{instruction} is not a valid change command"),
            };
        }

        return config;
    }

    /// <summary>Exec form (a JSON array) as it is; shell form through /bin/sh -c.</summary>
    private static IReadOnlyList<string> Command(string text) =>
        text.StartsWith('[') ? JsonArray(text) : ["/bin/sh", "-c", text];

    private static IReadOnlyList<string> JsonArray(string text)
    {
        try
        {
            return JsonSerializer.Deserialize(text, ImageJsonContext.Default.ListString) ?? [];
        }
        catch (JsonException)
        {
            return ["/bin/sh", "-c", text];
        }
    }

    /// <summary><c>K=V K2="v 2"</c>, or the legacy single <c>K V</c>.</summary>
    private static List<KeyValuePair<string, string>> Pairs(string text, string instruction)
    {
        var pairs = new List<KeyValuePair<string, string>>();
        if (!text.Contains('=', StringComparison.Ordinal))
        {
            int space = text.IndexOf(' ', StringComparison.Ordinal);
            if (space < 0)
            {
                throw EngineException.Invalid($"{instruction} requires at least one argument");
            }

            pairs.Add(new(text[..space], text[(space + 1)..].Trim()));
            return pairs;
        }

        int i = 0;
        while (i < text.Length)
        {
            while (i < text.Length && text[i] == ' ')
            {
                i++;
            }

            int eq = text.IndexOf('=', i);
            if (eq < 0)
            {
                break;
            }

            string key = text[i..eq];
            i = eq + 1;
            var value = new System.Text.StringBuilder();
            char? quote = null;
            for (; i < text.Length && (quote is not null || text[i] != ' '); i++)
            {
                char c = text[i];
                if (quote is null && c is '"' or '\'')
                {
                    quote = c;
                }
                else if (c == quote)
                {
                    quote = null;
                }
                else if (c == '\\' && i + 1 < text.Length && quote != '\'')
                {
                    value.Append(text[++i]);
                }
                else
                {
                    value.Append(c);
                }
            }

            pairs.Add(new(key, value.ToString()));
        }

        return pairs;
    }

    private static List<string> Merge(IReadOnlyList<string>? env, IEnumerable<string> added)
    {
        var result = new List<string>(env ?? []);
        foreach (string variable in added)
        {
            string key = variable.Split('=', 2)[0];
            int existing = result.FindIndex(e => e.Split('=', 2)[0] == key);
            if (existing >= 0)
            {
                result[existing] = variable;
            }
            else
            {
                result.Add(variable);
            }
        }

        return result;
    }

    private static Dictionary<string, string> With(Dictionary<string, string>? labels, IEnumerable<KeyValuePair<string, string>> added)
    {
        var result = new Dictionary<string, string>(labels ?? [], StringComparer.Ordinal);
        foreach ((string key, string value) in added)
        {
            result[key] = value;
        }

        return result;
    }

    private static Dictionary<string, Dictionary<string, string>> WithKeys(Dictionary<string, Dictionary<string, string>>? set, IEnumerable<string> keys)
    {
        var result = new Dictionary<string, Dictionary<string, string>>(set ?? [], StringComparer.Ordinal);
        foreach (string key in keys)
        {
            result[key] = [];
        }

        return result;
    }
}
