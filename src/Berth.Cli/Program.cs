using System.Runtime.InteropServices;
using System.Text;

namespace Berth.Cli;

internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        using var cancellation = new CancellationTokenSource();
        CommandContext? current = null;

        // First Ctrl-C cancels what is running (exit 130); a second one kills the process the default way.
        using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, signal =>
        {
            if (current?.OnInterrupt?.Invoke() == true)
            {
                signal.Cancel = true;
                return;
            }

            if (!cancellation.IsCancellationRequested)
            {
                signal.Cancel = true;
                cancellation.Cancel();
            }
        });

        var utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);
        Stream stdout = Console.OpenStandardOutput();
        Stream stderr = Console.OpenStandardError();
        await using var outWriter = new StreamWriter(stdout, utf8, 16 * 1024, leaveOpen: true) { AutoFlush = false, NewLine = "\n" };
        await using var errWriter = new StreamWriter(stderr, utf8, 1024, leaveOpen: true) { AutoFlush = true, NewLine = "\n" };

        using var context = new CommandContext
        {
            Out = outWriter,
            Err = errWriter,
            StdoutStream = stdout,
            StderrStream = stderr,
            OpenStdin = Console.OpenStandardInput,
            StdinIsTerminal = !Console.IsInputRedirected,
            StdoutIsTerminal = !Console.IsOutputRedirected,
            Environment = Environment.GetEnvironmentVariable,
            Cancellation = cancellation.Token,
        };

        current = context;
        return await BerthCli.RunAsync(args, context).ConfigureAwait(false);
    }
}
