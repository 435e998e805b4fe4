using Berth.Api.Client;

namespace Berth.Cli.Tests;

public class BuildContextIgnoreTests
{
    private static ContextIgnore Load(string content)
    {
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, content);
            return ContextIgnore.Load(path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("debug.log", true)]
    [InlineData("sub/debug.log", false)]
    [InlineData("logs/a/b.txt", true)]
    [InlineData("deep/x/y/z.tmp", true)]
    [InlineData("z.tmp", true)]
    [InlineData("secret/key.pem", true)]
    [InlineData("secret/public.txt", false)]
    [InlineData("keep.txt", false)]
    [InlineData("file?.md", false)]
    [InlineData("filea.md", true)]
    public void Patterns_match_like_docker(string path, bool excluded)
    {
        ContextIgnore ignore = Load("# comment\n*.log\n./logs\n**/*.tmp\nsecret/**\n!secret/public.txt\n\nfile[a-c].md\n");
        Assert.Equal(excluded, ignore.Excludes(path));
        Assert.True(ignore.HasExceptions);
    }

    [Fact]
    public void Missing_file_excludes_nothing() =>
        Assert.False(ContextIgnore.Load("/nonexistent/.dockerignore").Excludes("anything"));
}
