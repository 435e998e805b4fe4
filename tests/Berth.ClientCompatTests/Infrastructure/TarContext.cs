using System.Formats.Tar;
using System.Text;

namespace Berth.ClientCompatTests.Infrastructure;

/// <summary>A build context as clients send it: an uncompressed tar of files held in memory.</summary>
public static class TarContext
{
    public static MemoryStream Create(IReadOnlyDictionary<string, string> files)
    {
        var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach ((string path, string text) in files)
            {
                var entry = new PaxTarEntry(TarEntryType.RegularFile, path)
                {
                    DataStream = new MemoryStream(Encoding.UTF8.GetBytes(text)),
                    Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
                };
                writer.WriteEntry(entry);
            }
        }

        tar.Position = 0;
        return tar;
    }
}
