using System.Diagnostics;
using Berth.Primitives;

namespace Berth.Runtime;

/// <summary>Runs a program of the host (runc, <c>ps</c> for <c>top</c>) to completion and returns what it printed.</summary>
public static class HostCommand
{
    /// <summary>Its exit code and output; <paramref name="cannotRun"/> words the error when the program cannot be started.</summary>
    public static async Task<(int Code, string Stdout, string Stderr)> RunCapturedAsync(string program, IEnumerable<string> args, Func<string, string> cannotRun, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(cannotRun);
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new EngineException(ErrorKind.Internal, cannotRun(e.Message), e);
        }

        using (process)
        {
            Task<string> stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
            Task<string> stderr = process.StandardError.ReadToEndAsync(cancellationToken);
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            return (process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
        }
    }

    /// <summary>What the program printed; a non-zero exit is an error with its stderr.</summary>
    public static async Task<string> RunAsync(string program, IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        (int code, string stdout, string stderr) = await RunCapturedAsync(program, args, reason => $"{program} cannot be run: {reason}", cancellationToken).ConfigureAwait(false);
        return code == 0 ? stdout : throw EngineException.Invalid($"{program} failed: {stderr.Trim()}");
    }
}
