using Berth.Api.Client;

namespace Berth.Cli;

/// <summary>Options given before the command (<c>berth -H unix:///x.sock ps</c>).</summary>
internal sealed record GlobalOptions
{
    public string? Host { get; init; }

    public bool Debug { get; init; }

    public string LogLevel { get; init; } = "info";

    public string? ConfigDir { get; init; }
}

/// <summary>
/// What a command runs with: the standard streams, the global options, a lazily created API client,
/// the clock and the cancellation of Ctrl-C. Tests build one over in-memory streams.
/// </summary>
internal sealed class CommandContext : IDisposable
{
    private BerthClient? _client;

    /// <summary>Buffered UTF-8 text to stdout; flushed before raw output is streamed and at exit.</summary>
    public required TextWriter Out { get; init; }

    public required TextWriter Err { get; init; }

    /// <summary>Raw stdout, for container output.</summary>
    public required Stream StdoutStream { get; init; }

    public required Stream StderrStream { get; init; }

    public required Func<Stream> OpenStdin { get; init; }

    public bool StdinIsTerminal { get; init; }

    public bool StdoutIsTerminal { get; init; }

    public GlobalOptions Globals { get; set; } = new();

    public required Func<string, string?> Environment { get; init; }

    public TimeProvider Time { get; init; } = TimeProvider.System;

    public TimeZoneInfo Zone { get; init; } = TimeZoneInfo.Local;

    public CancellationToken Cancellation { get; init; }

    public Func<GlobalOptions, BerthClient>? ClientFactory { get; init; }

    /// <summary>
    /// Called on Ctrl-C before the default (cancel and exit 130); returning true means the command handled
    /// it (run forwards the first one to the container, as docker's --sig-proxy does).
    /// </summary>
    public Func<bool>? OnInterrupt { get; set; }

    /// <summary>The command as typed, for messages (<c>berth run</c>).</summary>
    public string CommandPath { get; set; } = "berth";

    /// <summary>The API client for the selected host (created on first use, so help and parse errors never connect).</summary>
    public BerthClient Client => _client ??= ClientFactory is not null
        ? ClientFactory(Globals)
        : BerthClient.FromEnvironment(Globals.Host, Environment, "Berth-Client/" + BuildInfo.Version + " (linux)");

    public DateTimeOffset Now => Time.GetUtcNow();

    public async Task FlushAsync()
    {
        await Out.FlushAsync(Cancellation).ConfigureAwait(false);
        await Err.FlushAsync(Cancellation).ConfigureAwait(false);
    }

    public void Dispose() => _client?.Dispose();
}

/// <summary>A failure with a chosen exit code (docker's StatusError); an empty message prints nothing.</summary>
internal sealed class StatusException(int exitCode, string message = "") : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

/// <summary>Version facts of this build (<c>berth --version</c>, <c>berth version</c>): the API client's, built together.</summary>
internal static class BuildInfo
{
    public static string Version => ClientInfo.Version;

    public static string Commit => ClientInfo.Commit;
}
