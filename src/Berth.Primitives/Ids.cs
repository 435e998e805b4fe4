namespace Berth.Primitives;

/// <summary>Object ids as Docker makes them: 64 lowercase hex characters, shown truncated to 12.</summary>
public static class Ids
{
    public static string NewId() => Convert.ToHexStringLower(SecureRandom.GetBytes(32));

    public static string Short(string id) => id.Length > 12 ? id[..12] : id;

    public static bool IsHexPrefix(string text) =>
        text.Length is > 0 and <= 64 && text.All(c => c is (>= '0' and <= '9') or (>= 'a' and <= 'f'));
}
