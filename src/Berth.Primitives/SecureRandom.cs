namespace Berth.Primitives;

/// <summary>
/// Unpredictable bytes from the kernel (/dev/urandom, the getrandom(2) pool), for ids and random prefixes. Not
/// <see cref="System.Security.Cryptography.RandomNumberGenerator"/>: on Linux that is OpenSSL's RAND_bytes, and its
/// first use loads libcrypto and libssl and initialises OpenSSL, about 4 MB of resident memory a daemon that only
/// runs containers (no pull, no hashing) would otherwise carry from its first network or container id on.
/// </summary>
public static class SecureRandom
{
    private const string Source = "/dev/urandom";

    public static void Fill(Span<byte> destination)
    {
        // Unbuffered: an id takes 32 bytes; a buffer would read 4 KB of entropy to throw most of it away.
        using var urandom = new FileStream(Source, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0);
        urandom.ReadExactly(destination);
    }

    public static byte[] GetBytes(int count)
    {
        byte[] bytes = new byte[count];
        Fill(bytes);
        return bytes;
    }

    /// <summary>A uniformly distributed integer in [0, <paramref name="toExclusive"/>).</summary>
    public static int GetInt32(int toExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(toExclusive);
        // Rejection sampling: drop the top values that would make the low ones more likely than the rest.
        uint range = (uint)toExclusive;
        uint limit = uint.MaxValue - (uint.MaxValue % range);
        Span<byte> bytes = stackalloc byte[4];
        while (true)
        {
            Fill(bytes);
            uint value = BitConverter.ToUInt32(bytes);
            if (value < limit)
            {
                return (int)(value % range);
            }
        }
    }
}
