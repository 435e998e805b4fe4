using System.Diagnostics;
using System.Text;

namespace Berth.IntegrationTests.Infrastructure;

/// <summary>What a finished command printed and how it ended.</summary>
public sealed record CommandResult(string Command, int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"`{Command}` exited {ExitCode}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}

/// <summary>Runs a program to completion with a bound: captures stdout and stderr, optionally feeds stdin.</summary>
public static class ProcessRunner
{
    // A bound for hangs, not a timing: commands end long before it. 30 s was once too little on the CI VM for a plain
    // `docker run` in the first minute of a suite (every test project starting at once on 2 cores).
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    public static async Task<CommandResult> RunAsync(
        string fileName, IEnumerable<string> args, IReadOnlyDictionary<string, string?>? environment = null, string? stdin = null, TimeSpan? timeout = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach ((string key, string? value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                info.Environment.Remove(key);
            }
            else
            {
                info.Environment[key] = value;
            }
        }

        string command = string.Join(' ', info.ArgumentList.Prepend(Path.GetFileName(fileName)).Select(a => a.Contains(' ', StringComparison.Ordinal) ? $"'{a}'" : a));
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {command}");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        try
        {
            if (stdin is not null)
            {
                await process.StandardInput.WriteAsync(stdin);
            }

            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The program exited without reading its input; its exit status tells the story.
        }

        TimeSpan limit = timeout ?? DefaultTimeout;
        using var cts = new CancellationTokenSource(limit);
        try
        {
            await process.WaitForExitAsync(cts.Token);
            return new CommandResult(command, process.ExitCode, await stdout.WaitAsync(cts.Token), await stderr.WaitAsync(cts.Token));
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            try
            {
                await Task.WhenAll(process.WaitForExitAsync(CancellationToken.None), stdout, stderr).WaitAsync(TimeSpan.FromSeconds(5));
            }
            catch (TimeoutException)
            {
                // Something still holds the pipes: report what arrived so far.
            }

            string partialOut = stdout.IsCompletedSuccessfully ? stdout.Result : "(unfinished)";
            string partialErr = stderr.IsCompletedSuccessfully ? stderr.Result : "(unfinished)";
            throw new TimeoutException($"`{command}` did not finish within {limit.TotalSeconds:F0} s\n--- stdout ---\n{partialOut}\n--- stderr ---\n{partialErr}");
        }
    }
}
