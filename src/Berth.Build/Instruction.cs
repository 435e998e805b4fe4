namespace Berth.Build;

/// <summary>
/// One Dockerfile instruction as written: its keyword (upper-cased), its <c>--flag=value</c> options, and its
/// arguments either as a JSON array (exec form) or as the raw rest of the line (shell form). Variables are not yet
/// substituted: that depends on the ARG/ENV scope at evaluation time.
/// </summary>
public sealed record Instruction
{
    /// <summary>1-based line where the instruction starts.</summary>
    public int Line { get; init; }

    public string Keyword { get; init; } = "";

    /// <summary>The instruction as written, continuations joined (for history and cache keys).</summary>
    public string Original { get; init; } = "";

    /// <summary>Flags before the arguments, without the leading dashes: <c>from=build</c>, <c>chown=1:1</c>.</summary>
    public IReadOnlyList<string> Flags { get; init; } = [];

    /// <summary>The arguments after the flags, continuations joined, as written.</summary>
    public string Arguments { get; init; } = "";

    /// <summary>The arguments when written as a JSON array of strings (exec form); null in shell form.</summary>
    public IReadOnlyList<string>? Json { get; init; }

    /// <summary>Here-documents following the line (<c>RUN &lt;&lt;EOF</c>), in order.</summary>
    public IReadOnlyList<Heredoc> Heredocs { get; init; } = [];

    /// <summary>The value of <c>--name=value</c>, or null when the flag is absent.</summary>
    public string? Flag(string name)
    {
        foreach (string flag in Flags)
        {
            int equals = flag.IndexOf('=', StringComparison.Ordinal);
            string key = equals < 0 ? flag : flag[..equals];
            if (string.Equals(key, name, StringComparison.OrdinalIgnoreCase))
            {
                return equals < 0 ? "true" : flag[(equals + 1)..];
            }
        }

        return null;
    }
}

/// <summary>A here-document: its name (the delimiter word), its content, and whether variables expand in it.</summary>
public sealed record Heredoc(string Name, string Content, bool Expand);

/// <summary>A parsed Dockerfile: its parser directives and its instructions.</summary>
public sealed record DockerfileDocument(IReadOnlyDictionary<string, string> Directives, IReadOnlyList<Instruction> Instructions, char EscapeToken);

/// <summary>A Dockerfile that cannot be parsed or evaluated; the message reads as Docker's (<c>Dockerfile:3: unknown instruction: RUNN</c>).</summary>
public sealed class DockerfileException : Exception
{
    public DockerfileException(string message) : base(message)
    {
    }

    public DockerfileException(string message, Exception inner) : base(message, inner)
    {
    }

    public DockerfileException()
    {
    }

    public static DockerfileException AtLine(int line, string message) => new($"Dockerfile:{line}: {message}");
}
