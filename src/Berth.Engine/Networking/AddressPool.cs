namespace Berth.Engine.Networking;

/// <summary>
/// One of daemon.json's <c>default-address-pools</c>: networks created without <c>--subnet</c> get the first subnet of
/// <see cref="Size"/> bits inside <see cref="Base"/> that overlaps no host route and no other network.
/// </summary>
public sealed record AddressPool(Ipv4Net Base, int Size)
{
    /// <summary>Docker's defaults: 172.17–172.31 as /16s, then 192.168/16 as /20s.</summary>
    public static readonly IReadOnlyList<AddressPool> DockerDefaults =
    [
        .. Enumerable.Range(17, 15).Select(b => new AddressPool(new Ipv4Net((172u << 24) | ((uint)b << 16), 16), 16)),
        new AddressPool(new Ipv4Net((192u << 24) | (168u << 16), 16), 20),
    ];

    /// <summary>Enough for any pool a person writes, and bounded so a /8 split into /30s cannot stall network create.</summary>
    private const int MaxCandidatesPerPool = 1 << 16;

    /// <summary>The pool's subnets in order.</summary>
    public IEnumerable<Ipv4Net> Subnets()
    {
        long count = Math.Min(1L << (Size - Base.PrefixLength), MaxCandidatesPerPool);
        for (long i = 0; i < count; i++)
        {
            yield return new Ipv4Net(Base.Network + (uint)(i << (32 - Size)), Size);
        }
    }

    /// <summary>A pool as daemon.json gives it (<c>{"base": "10.10.0.0/16", "size": 24}</c>); <see cref="FormatException"/> when malformed.</summary>
    public static AddressPool Parse(string baseCidr, int size)
    {
        Ipv4Net network;
        try
        {
            network = Ipv4Net.Parse(baseCidr);
        }
        catch (Primitives.EngineException e)
        {
            throw new FormatException($"invalid default address pool {baseCidr}: {e.Message}", e);
        }

        return size < network.PrefixLength || size > 30
            ? throw new FormatException($"invalid default address pool {baseCidr}: size {size} must be between the base's prefix length ({network.PrefixLength}) and 30")
            : new AddressPool(network, size);
    }
}
