namespace Berth.UnitTests;

/// <summary>A fresh directory under the system temp directory, removed (with everything in it) on dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = Directory.CreateTempSubdirectory("berth-unit-").FullName;
    }

    public string Path { get; }

    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    /// <summary>Every path under the directory (relative, sorted), symlinks listed but not followed.</summary>
    public IReadOnlyList<string> Entries() => Entries(Path);

    public static IReadOnlyList<string> Entries(string root)
    {
        var found = new List<string>();
        Walk(root, root, found);
        found.Sort(StringComparer.Ordinal);
        return found;
    }

    public void Dispose()
    {
        if (!Directory.Exists(Path))
        {
            return;
        }

        // Layers may hold read-only directories: make them writable again so they can be removed.
        foreach (string dir in Directory.EnumerateDirectories(Path, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint }))
        {
            if (new FileInfo(dir).LinkTarget is null)
            {
                File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }

        Directory.Delete(Path, recursive: true);
    }

    private static void Walk(string root, string dir, List<string> found)
    {
        foreach (string entry in Directory.EnumerateFileSystemEntries(dir))
        {
            found.Add(System.IO.Path.GetRelativePath(root, entry));
            var info = new DirectoryInfo(entry);
            if (info.Exists && info.LinkTarget is null)
            {
                Walk(root, entry, found);
            }
        }
    }
}
