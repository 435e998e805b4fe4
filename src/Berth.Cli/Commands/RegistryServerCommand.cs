using System.Diagnostics;

namespace Berth.Cli.Commands;

/// <summary>
/// <c>berth registry serve|garbage-collect ...</c>: the registry server is its own program, <c>berth-registry</c>
/// (it needs no daemon and runs as a container too), and this command hands the rest of the line to it, the way the
/// docker CLI hands <c>docker compose</c> to its plugin. It is found beside <c>berth</c>, else on PATH.
/// </summary>
internal static class RegistryServerCommand
{
    public const string ProgramName = "berth-registry";

    private const string HelpText = """

        Usage:  berth registry COMMAND

        Run a registry server (the OCI distribution API) of your own

        Commands:
          serve            Serve a registry: [--addr HOST:PORT] [--root DIR] [--htpasswd FILE] [--realm REALM]
                           [--tls-cert FILE --tls-key FILE] [--delete-enabled]
          garbage-collect  Delete the blobs no manifest references: --root DIR [--dry-run] [--delete-untagged]

        """;

    public static CommandSpec Create() => new()
    {
        Name = "registry",
        Usage = "COMMAND",
        Summary = "Run a registry server of your own",
        Group = "Management Commands",
        Interspersed = false,
        Handler = RunAsync,
        CustomHelp = () => HelpText,
    };

    /// <summary>
    /// The berth-registry to run: beside this binary or in its <c>registry/</c> directory (install.sh's and test.sh's
    /// layouts), else the bare name for PATH to resolve.
    /// </summary>
    public static string Locate(string? berthPath)
    {
        string? directory = Path.GetDirectoryName(berthPath);
        if (directory is not null)
        {
            foreach (string candidate in new[] { Path.Combine(directory, ProgramName), Path.Combine(directory, "registry", ProgramName) })
            {
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return ProgramName;
    }

    private static async Task<int> RunAsync(CommandContext ctx, Parsing.ParsedArgs p)
    {
        if (p.Positionals.Count == 0)
        {
            await ctx.Out.WriteAsync(HelpText).ConfigureAwait(false);
            return 0;
        }

        await ctx.FlushAsync().ConfigureAwait(false);
        var start = new ProcessStartInfo(Locate(Environment.ProcessPath)) { UseShellExecute = false };
        foreach (string arg in p.Positionals)
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
            throw new StatusException(127, $"{ProgramName} cannot be run: {e.Message} (install.sh puts it beside berth)");
        }

        using (process)
        {
            // Ctrl-C reaches the server through the terminal's process group; wait for it to finish shutting down.
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            return process.ExitCode;
        }
    }
}
