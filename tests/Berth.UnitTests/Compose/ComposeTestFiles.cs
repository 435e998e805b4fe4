using Berth.Compose;
using Berth.Compose.Loading;

namespace Berth.UnitTests.Compose;

/// <summary>A temporary project directory with compose files in it, removed on dispose.</summary>
internal sealed class ComposeTestFiles : IDisposable
{
    public ComposeTestFiles(string? dirName = null)
    {
        string parent = Directory.CreateTempSubdirectory("berth-compose-").FullName;
        Dir = dirName is null ? parent : Directory.CreateDirectory(Path.Combine(parent, dirName)).FullName;
        Parent = parent;
    }

    public string Dir { get; }

    private string Parent { get; }

    public Dictionary<string, string> Environment { get; } = new(StringComparer.Ordinal);

    public ComposeTestFiles Write(string name, string text)
    {
        string path = Path.Combine(Dir, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text.Replace("\r\n", "\n", StringComparison.Ordinal));
        return this;
    }

    public ComposeProject Load(params string[] files) => Load(new ComposeOptions { Files = files });

    public ComposeProject Load(ComposeOptions options) => ComposeLoader.Load(options with
    {
        WorkingDirectory = Dir,
        Environment = n => Environment.GetValueOrDefault(n),
    });

    public ComposeException Fails(params string[] files) => Assert.Throws<ComposeException>(() => Load(files));

    public void Dispose() => Directory.Delete(Parent, recursive: true);
}
