using System.Security.Cryptography;
using System.Text;
using Berth.Build;
using Berth.Interop;

namespace Berth.Engine.Build;

/// <summary>
/// The directories behind <c>RUN --mount=type=cache</c>: one per cache id under the data root, kept across builds
/// until <c>builder prune</c>. Sharing as BuildKit defines it: <c>shared</c> lets concurrent steps use one directory,
/// <c>locked</c> makes them take turns, <c>private</c> gives a step that finds the cache in use a fresh directory.
/// </summary>
internal sealed class CacheMountStore(string root)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, int> _users = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SemaphoreSlim> _turns = new(StringComparer.Ordinal);

    /// <summary>A cache directory in use by one step; disposing gives it back (and deletes a private one).</summary>
    public sealed class Lease(string path, Action release) : IDisposable
    {
        public string Path { get; } = path;

        public void Dispose() => release();
    }

    /// <summary>
    /// The cache directory for <paramref name="mount"/>, created on first use with the mount's owner and mode and
    /// filled by <paramref name="seed"/> (the <c>from=</c> source) before anyone sees it.
    /// </summary>
    public async Task<Lease> AcquireAsync(RunMount mount, Action<string>? seed, CancellationToken cancellationToken)
    {
        string name = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(mount.Id ?? mount.Target)))[..32];
        string path = System.IO.Path.Combine(root, name);
        SemaphoreSlim? turn = null;
        if (mount.Sharing == "locked")
        {
            lock (_lock)
            {
                if (!_turns.TryGetValue(name, out turn))
                {
                    turn = new SemaphoreSlim(1, 1);
                    _turns[name] = turn;
                }
            }

            await turn.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        try
        {
            lock (_lock)
            {
                if (mount.Sharing == "private" && _users.GetValueOrDefault(name) > 0)
                {
                    string scratch = System.IO.Path.Combine(root, "private-" + Guid.NewGuid().ToString("N")[..12]);
                    Create(scratch, mount, seed);
                    return new Lease(scratch, () => Directory.Delete(scratch, recursive: true));
                }

                if (!Directory.Exists(path))
                {
                    // Made aside and renamed into place, so a crash never leaves a half-seeded cache.
                    string making = path + ".new";
                    if (Directory.Exists(making))
                    {
                        Directory.Delete(making, recursive: true);
                    }

                    Create(making, mount, seed);
                    Directory.Move(making, path);
                }

                _users[name] = _users.GetValueOrDefault(name) + 1;
            }
        }
        catch
        {
            turn?.Release();
            throw;
        }

        return new Lease(path, () =>
        {
            lock (_lock)
            {
                _users[name]--;
            }

            turn?.Release();
        });
    }

    private static void Create(string path, RunMount mount, Action<string>? seed)
    {
        Directory.CreateDirectory(path);
        seed?.Invoke(path);
        File.SetUnixFileMode(path, (UnixFileMode)(mount.Mode ?? 0x1ED));
        FileOwnership.Change(path, mount.Uid, mount.Gid);
    }

    /// <summary>Deletes every cache directory no step is using; returns what was deleted and the bytes freed.</summary>
    public (IReadOnlyList<string> Deleted, long Bytes) Prune()
    {
        var deleted = new List<string>();
        long bytes = 0;
        if (!Directory.Exists(root))
        {
            return (deleted, 0);
        }

        lock (_lock)
        {
            foreach (string directory in Directory.EnumerateDirectories(root))
            {
                string name = System.IO.Path.GetFileName(directory);
                if (_users.GetValueOrDefault(name) > 0 || name.StartsWith("private-", StringComparison.Ordinal))
                {
                    continue;
                }

                bytes += SizeOf(directory);
                Directory.Delete(directory, recursive: true);
                deleted.Add(name);
            }
        }

        return (deleted, bytes);
    }

    private static long SizeOf(string directory)
    {
        long total = 0;
        foreach (FileInfo file in new DirectoryInfo(directory).EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = true }))
        {
            if (file.LinkTarget is null)
            {
                total += file.Length;
            }
        }

        return total;
    }
}
