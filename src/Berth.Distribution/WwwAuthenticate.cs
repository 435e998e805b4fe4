namespace Berth.Distribution;

/// <summary>One challenge of a <c>WWW-Authenticate</c> header: its scheme (Basic, Bearer) and parameters (realm, service, scope).</summary>
public sealed record AuthChallenge(string Scheme, IReadOnlyDictionary<string, string> Parameters)
{
    public string? this[string name] => Parameters.TryGetValue(name, out string? value) ? value : null;
}

/// <summary>Parses RFC 7235 challenges: <c>Bearer realm="https://auth/token",service="registry",scope="repository:a:pull"</c>.</summary>
public static class WwwAuthenticate
{
    public static IReadOnlyList<AuthChallenge> Parse(string? header)
    {
        var challenges = new List<AuthChallenge>();
        if (string.IsNullOrWhiteSpace(header))
        {
            return challenges;
        }

        int i = 0;
        string? scheme = null;
        var parameters = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        while (i < header.Length)
        {
            SkipSpacesAndCommas(header, ref i);
            int start = i;
            while (i < header.Length && header[i] is not (' ' or '=' or ','))
            {
                i++;
            }

            string token = header[start..i];
            if (token.Length == 0)
            {
                break;
            }

            int afterToken = i;
            while (i < header.Length && header[i] == ' ')
            {
                i++;
            }

            if (i < header.Length && header[i] == '=' && scheme is not null)
            {
                i++;
                while (i < header.Length && header[i] == ' ')
                {
                    i++;
                }

                parameters[token] = ReadValue(header, ref i);
                continue;
            }

            // A token not followed by '=' starts a new challenge.
            if (scheme is not null)
            {
                challenges.Add(new AuthChallenge(scheme, parameters));
                parameters = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            }

            scheme = token;
            i = afterToken;
        }

        if (scheme is not null)
        {
            challenges.Add(new AuthChallenge(scheme, parameters));
        }

        return challenges;
    }

    private static void SkipSpacesAndCommas(string text, ref int i)
    {
        while (i < text.Length && text[i] is ' ' or ',' or '\t')
        {
            i++;
        }
    }

    private static string ReadValue(string text, ref int i)
    {
        if (i < text.Length && text[i] == '"')
        {
            var value = new System.Text.StringBuilder();
            i++;
            while (i < text.Length && text[i] != '"')
            {
                if (text[i] == '\\' && i + 1 < text.Length)
                {
                    i++;
                }

                value.Append(text[i]);
                i++;
            }

            i++; // the closing quote
            return value.ToString();
        }

        int start = i;
        while (i < text.Length && text[i] is not (',' or ' '))
        {
            i++;
        }

        return text[start..i];
    }
}
