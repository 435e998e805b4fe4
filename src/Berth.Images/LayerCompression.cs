using System.IO.Compression;
using Berth.Primitives;

namespace Berth.Images;

/// <summary>
/// Layer and archive streams as they come: plain tar, gzip or zstd (read by its magic number, whatever the media type
/// says); bzip2 and xz are refused by name. A compressed stream that expands past <see cref="BombRatio"/> times what was
/// read of it (once past <see cref="BombFloor"/>) is refused as a decompression bomb: real layers compress about 2-10x, and 200x is far beyond them.
/// </summary>
public static class LayerCompression
{
    public const long BombRatio = 200;
    public const long BombFloor = 64L << 20;

    /// <summary>A stream of the decompressed content of <paramref name="input"/>.</summary>
    public static async Task<Stream> DecompressAsync(Stream input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        byte[] magic = new byte[6];
        int read = await input.ReadAtLeastAsync(magic, magic.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        Stream rest = new PrefixedStream(magic.AsMemory(0, read), input);
        if (read >= 2 && magic[0] == 0x1f && magic[1] == 0x8b)
        {
            var counted = new CountingStream(rest);
            return new BombGuard(new GZipStream(counted, CompressionMode.Decompress), counted);
        }

        if (read >= 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd)
        {
            var counted = new CountingStream(rest);
            return new BombGuard(new ZstdSharp.DecompressionStream(counted), counted);
        }

        if ((read >= 3 && magic[0] == 'B' && magic[1] == 'Z' && magic[2] == 'h')
            || (read >= 6 && magic[0] == 0xfd && magic[1] == '7' && magic[2] == 'z' && magic[3] == 'X' && magic[4] == 'Z' && magic[5] == 0))
        {
            throw EngineException.Invalid("unsupported compression: only plain, gzip and zstd archives can be read");
        }

        return rest;
    }

    /// <summary>Counts what is read through it (the compressed side).</summary>
    private sealed class CountingStream(Stream inner) : ReadOnlyWrapper(inner)
    {
        public long Count { get; private set; }

        protected override void Saw(int bytes) => Count += bytes;
    }

    /// <summary>Refuses output beyond <see cref="BombRatio"/> times the compressed input.</summary>
    private sealed class BombGuard(Stream inner, CountingStream compressed) : ReadOnlyWrapper(inner)
    {
        private long _output;

        protected override void Saw(int bytes)
        {
            _output += bytes;
            if (_output > BombFloor && _output > compressed.Count * BombRatio)
            {
                throw EngineException.Invalid($"layer expands to more than {BombRatio} times its compressed size: refusing a decompression bomb");
            }
        }
    }

    /// <summary>A read-only pass-through that reports every read's size.</summary>
    private abstract class ReadOnlyWrapper(Stream inner) : ReadOnlyWrapperStream(inner)
    {
        protected abstract void Saw(int bytes);

        public override int Read(Span<byte> buffer)
        {
            int read = Inner.Read(buffer);
            Saw(read);
            return read;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            int read = await Inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            Saw(read);
            return read;
        }
    }
}
