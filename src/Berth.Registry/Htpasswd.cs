using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace Berth.Registry;

/// <summary>
/// An Apache htpasswd file of bcrypt entries (<c>user:$2y$...</c>, as <c>htpasswd -B</c> writes them), the only
/// kind distribution's registry accepts too: other hash kinds are refused when the file is read, not at login.
/// </summary>
public sealed class Htpasswd
{
    private readonly Dictionary<string, string> _hashes;

    // bcrypt costs ~50-100 ms by design, and a pull sends one request per blob: a pair that verified once is
    // remembered (by a SHA-256 of user, password and hash, never the password itself) so only the first request pays.
    private readonly ConcurrentDictionary<string, bool> _verified = new(StringComparer.Ordinal);

    private Htpasswd(Dictionary<string, string> hashes) => _hashes = hashes;

    public int Count => _hashes.Count;

    /// <summary>Reads the file; <see cref="FormatException"/> names the line that is not a bcrypt entry.</summary>
    public static Htpasswd Load(string path)
    {
        var hashes = new Dictionary<string, string>(StringComparer.Ordinal);
        int number = 0;
        foreach (string raw in File.ReadLines(path))
        {
            number++;
            string line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            int colon = line.IndexOf(':', StringComparison.Ordinal);
            string hash = colon > 0 ? line[(colon + 1)..] : "";
            if (!(hash.StartsWith("$2a$", StringComparison.Ordinal) || hash.StartsWith("$2b$", StringComparison.Ordinal) || hash.StartsWith("$2y$", StringComparison.Ordinal)))
            {
                throw new FormatException($"{path}:{number}: not a bcrypt entry (create it with htpasswd -B)");
            }

            hashes[line[..colon]] = hash;
        }

        return new Htpasswd(hashes);
    }

    /// <summary>Whether the Basic credentials are a user of the file with the right password.</summary>
    public bool Verify(string user, string password)
    {
        if (!_hashes.TryGetValue(user, out string? hash))
        {
            return false;
        }

        string key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(user + "\0" + password + "\0" + hash)));
        if (_verified.ContainsKey(key))
        {
            return true;
        }

        bool ok;
        try
        {
            ok = BCrypt.Net.BCrypt.Verify(password, hash);
        }
        catch (BCrypt.Net.SaltParseException)
        {
            ok = false;
        }

        if (ok)
        {
            _verified[key] = true;
        }

        return ok;
    }

    /// <summary>The user and password of an <c>Authorization: Basic ...</c> header, or null when it is not one.</summary>
    public static (string User, string Password)? ParseBasic(string? header)
    {
        if (header is null || !header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        try
        {
            string decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim()));
            int colon = decoded.IndexOf(':', StringComparison.Ordinal);
            return colon < 0 ? null : (decoded[..colon], decoded[(colon + 1)..]);
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
