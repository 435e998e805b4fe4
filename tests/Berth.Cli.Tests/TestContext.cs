using System.Text;
using Berth.Api.Client;

namespace Berth.Cli.Tests;

/// <summary>A command context over memory: what the CLI printed, and a fixed clock.</summary>
internal sealed class TestConsole : IDisposable
{
    public StringWriter Out { get; } = new() { NewLine = "\n" };

    public StringWriter Err { get; } = new() { NewLine = "\n" };

    public MemoryStream Stdout { get; } = new();

    public MemoryStream Stderr { get; } = new();

    public Dictionary<string, string> Env { get; } = [];

    public CommandContext Context { get; }

    public TestConsole(Func<GlobalOptions, BerthClient>? client = null)
    {
        Context = new CommandContext
        {
            Out = Out,
            Err = Err,
            StdoutStream = Stdout,
            StderrStream = Stderr,
            OpenStdin = () => new MemoryStream(),
            Environment = k => Env.GetValueOrDefault(k),
            Zone = TimeZoneInfo.Utc,
            ClientFactory = client ?? (_ => new BerthClient(DaemonEndpoint.Parse("unix:///nonexistent/berth-test.sock"))),
        };
    }

    public async Task<int> RunAsync(params string[] args) => await BerthCli.RunAsync(args, Context);

    public string StdoutText => Out + Encoding.UTF8.GetString(Stdout.ToArray());

    public void Dispose() => Context.Dispose();
}
