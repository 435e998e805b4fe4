using System.Text.RegularExpressions;
using Berth.Build;

namespace Berth.Engine.Build;

/// <summary>
/// The here-documents of one COPY or ADD (<c>COPY &lt;&lt;EOF /dest</c>) written as files, mode 0644, each named by its
/// delimiter, in a directory of their own outside the context (a context file of that name is not what the step
/// copies); the directory goes when the step is done.
/// </summary>
internal sealed partial class HeredocFiles : IDisposable
{
    private readonly string? _directory;
    private readonly Dictionary<string, string> _files = new(StringComparer.Ordinal);

    private HeredocFiles(string? directory)
    {
        _directory = directory;
    }

    [GeneratedRegex(@"^<<-?([""']?)([A-Za-z_][A-Za-z0-9_]*)\1$")]
    private static partial Regex SourcePattern();

    /// <param name="parent">Where the files' directory is made (the builder's directory, beside the context).</param>
    /// <param name="expand">Variable substitution, for documents whose delimiter is not quoted (as a shell reads them).</param>
    public static HeredocFiles Write(string parent, IReadOnlyList<Heredoc> heredocs, Func<string, string> expand)
    {
        ArgumentNullException.ThrowIfNull(heredocs);
        ArgumentNullException.ThrowIfNull(expand);
        if (heredocs.Count == 0)
        {
            return new HeredocFiles(null);
        }

        var files = new HeredocFiles(Path.Combine(parent, "heredoc-" + Guid.NewGuid().ToString("N")[..12]));
        try
        {
            Directory.CreateDirectory(files._directory!);
            foreach (Heredoc heredoc in heredocs)
            {
                string path = Path.Combine(files._directory!, heredoc.Name);
                File.WriteAllText(path, heredoc.Expand ? expand(heredoc.Content) : heredoc.Content);
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
                files._files[heredoc.Name] = path;
            }

            return files;
        }
        catch
        {
            files.Dispose();
            throw;
        }
    }

    /// <summary>The document a source word (<c>&lt;&lt;EOF</c>, <c>&lt;&lt;-"EOF"</c>) names, as a copy source: its name and file.</summary>
    public (string Name, string Path)? Find(string source)
    {
        Match match = SourcePattern().Match(source);
        return match.Success && _files.TryGetValue(match.Groups[2].Value, out string? path) ? (match.Groups[2].Value, path) : null;
    }

    public void Dispose()
    {
        if (_directory is not null && Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }
}
