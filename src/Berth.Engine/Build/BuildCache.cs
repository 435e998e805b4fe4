using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace Berth.Engine.Build;

/// <summary>
/// The build cache: step key (parent image, instruction after substitution, build args in scope, source checksum)
/// → the image that step made. An append-only text file of "key imageId" lines under the data root, loaded once;
/// an entry whose image was since removed is simply a miss.
/// </summary>
public sealed class BuildCache : IDisposable
{
    private readonly string _path;
    private readonly ConcurrentDictionary<string, string> _entries = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    public BuildCache(EngineOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _path = Path.Combine(options.DataRoot, "builder", "cache.txt");
        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        if (File.Exists(_path))
        {
            foreach (string line in File.ReadLines(_path))
            {
                int space = line.IndexOf(' ', StringComparison.Ordinal);
                if (space > 0)
                {
                    _entries[line[..space]] = line[(space + 1)..];
                }
            }
        }
    }

    public static string Key(string? parentId, string step, IEnumerable<KeyValuePair<string, string>> args, string? checksum)
    {
        var text = new StringBuilder();
        text.Append("parent=").Append(parentId ?? "scratch").Append('\n').Append("step=").Append(step).Append('\n');
        foreach (KeyValuePair<string, string> arg in args.OrderBy(a => a.Key, StringComparer.Ordinal))
        {
            text.Append("arg=").Append(arg.Key).Append('=').Append(arg.Value).Append('\n');
        }

        text.Append("sum=").Append(checksum ?? "");
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    public void Dispose() => _writeLock.Dispose();

    /// <summary>Forgets every cached step (<c>builder prune --all</c>): the next build runs each step again.</summary>
    public void Clear()
    {
        _writeLock.Wait();
        try
        {
            _entries.Clear();
            File.Delete(_path);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public string? Lookup(string key) => _entries.TryGetValue(key, out string? id) ? id : null;

    public async Task StoreAsync(string key, string imageId, CancellationToken cancellationToken)
    {
        _entries[key] = imageId;
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await File.AppendAllTextAsync(_path, key + " " + imageId + "\n", cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }
}
