namespace Berth.Api.Types;

/// <summary>
/// The detach key sequence of an attach (<c>detachKeys</c> / <c>--detach-keys</c>): comma-separated keys, each
/// <c>ctrl-X</c> (X a letter or one of <c>@[\]^_</c>) or a single character; ctrl-p,ctrl-q by default.
/// </summary>
public static class DetachKeys
{
    public const string Default = "ctrl-p,ctrl-q";

    /// <summary>The bytes of <paramref name="keys"/> (the default for null or empty); null when the text is not valid.</summary>
    public static byte[]? Parse(string? keys)
    {
        if (string.IsNullOrEmpty(keys))
        {
            keys = Default;
        }

        var bytes = new List<byte>();
        foreach (string key in keys.Split(','))
        {
            if (key.Length > 1 && key.StartsWith("ctrl-", StringComparison.Ordinal) && key.Length == 6)
            {
                char c = char.ToLowerInvariant(key[5]);
                if (c is >= 'a' and <= 'z')
                {
                    bytes.Add((byte)(c - 'a' + 1));
                }
                else if (c is '@' or '[' or '\\' or ']' or '^' or '_')
                {
                    bytes.Add((byte)(c - '@'));
                }
                else
                {
                    return null;
                }
            }
            else if (key.Length == 1 && key[0] < 0x80)
            {
                bytes.Add((byte)key[0]);
            }
            else
            {
                return null;
            }
        }

        return [.. bytes];
    }
}

/// <summary>
/// Finds a detach sequence in a byte stream: bytes that may begin it are held back until it is complete (detach)
/// or broken (they are passed on after all), as docker's escape proxy does.
/// </summary>
public sealed class DetachKeyMatcher(byte[] keys)
{
    private int _matched;

    /// <summary>
    /// Feeds <paramref name="input"/>; writes what is to be forwarded into <paramref name="output"/> (which must hold
    /// input.Length + keys.Length bytes) and returns its length, or -1 once the whole sequence has been typed.
    /// </summary>
    public int Feed(ReadOnlySpan<byte> input, Span<byte> output)
    {
        int written = 0;
        foreach (byte b in input)
        {
            if (keys.Length > 0 && b == keys[_matched])
            {
                if (++_matched == keys.Length)
                {
                    return -1;
                }

                continue;
            }

            // A broken prefix is passed on as typed, then this byte starts over.
            keys.AsSpan(0, _matched).CopyTo(output[written..]);
            written += _matched;
            _matched = 0;
            if (keys.Length > 0 && b == keys[0])
            {
                _matched = 1;
                if (keys.Length == 1)
                {
                    return -1;
                }

                continue;
            }

            output[written++] = b;
        }

        return written;
    }
}
