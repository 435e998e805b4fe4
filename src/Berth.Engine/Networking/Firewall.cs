using System.Diagnostics;
using System.Text;
using Berth.Primitives;
using Microsoft.Extensions.Logging;

namespace Berth.Engine.Networking;

/// <summary>
/// Berth's packet filtering and NAT through iptables, only in its own chains (BERTH*) and the jumps to them.
/// Every rule carries a comment tag (<c>berth:SCOPE:net:ID</c>, <c>berth:SCOPE:port:ID</c>) so a network's or a
/// container's rules are removed exactly, and rebuilt at start, without touching anybody else's rules.
/// One <c>iptables-restore --noflush</c> per change: per network, per container with published ports.
/// </summary>
public sealed partial class Firewall(ILogger<Firewall> logger) : IDisposable
{
    public const string Backend = "iptables";

    private static readonly (string Table, string Chain)[] Chains =
    [
        ("nat", "BERTH"), ("nat", "BERTH-POSTROUTING"),
        ("filter", "BERTH"), ("filter", "BERTH-FORWARD"), ("filter", "BERTH-ISOLATION-1"), ("filter", "BERTH-ISOLATION-2"),
    ];

    private static readonly (string Table, string Rule)[] Jumps =
    [
        ("nat", "PREROUTING -m addrtype --dst-type LOCAL -j BERTH"),
        ("nat", "OUTPUT -m addrtype --dst-type LOCAL -j BERTH"),
        ("nat", "POSTROUTING -j BERTH-POSTROUTING"),
        ("filter", "FORWARD -j BERTH-FORWARD"),
    ];

    private readonly SemaphoreSlim _lock = new(1, 1);

    public void Dispose() => _lock.Dispose();

    /// <summary>Creates Berth's chains and the jumps to them when missing (idempotent; other daemons may share them).</summary>
    public async Task EnsureBaseAsync(CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var script = new StringBuilder();
            foreach (string table in new[] { "nat", "filter" })
            {
                string saved = await RunAsync("iptables-save", ["-t", table], null, cancellationToken).ConfigureAwait(false);
                script.Append('*').Append(table).Append('\n');
                var rules = new StringBuilder();
                foreach ((_, string chain) in Chains.Where(c => c.Table == table))
                {
                    if (!saved.Contains($":{chain} ", StringComparison.Ordinal))
                    {
                        script.Append(':').Append(chain).Append(" - [0:0]\n");
                        if (table == "filter" && chain == "BERTH-FORWARD")
                        {
                            // Isolation between networks comes before any accept.
                            rules.Append("-A BERTH-FORWARD -j BERTH-ISOLATION-1\n");
                        }
                    }
                }

                foreach ((_, string rule) in Jumps.Where(j => j.Table == table))
                {
                    if (!saved.Contains("-A " + rule + "\n", StringComparison.Ordinal))
                    {
                        rules.Append(rule.StartsWith("FORWARD", StringComparison.Ordinal) ? "-I " : "-A ").Append(rule).Append('\n');
                    }
                }

                script.Append(rules);
                script.Append("COMMIT\n");
            }

            await RunAsync("iptables-restore", ["--noflush"], script.ToString(), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Appends rules (<c>CHAIN args</c> by table), each tagged with <paramref name="tag"/>.</summary>
    public async Task AddAsync(string tag, IReadOnlyList<(string Table, string Rule)> rules, CancellationToken cancellationToken)
    {
        if (rules.Count == 0)
        {
            return;
        }

        var script = new StringBuilder();
        foreach (IGrouping<string, (string Table, string Rule)> table in rules.GroupBy(r => r.Table))
        {
            script.Append('*').Append(table.Key).Append('\n');
            foreach ((_, string rule) in table)
            {
                script.Append("-A ").Append(rule).Append(" -m comment --comment ").Append(tag).Append('\n');
            }

            script.Append("COMMIT\n");
        }

        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await RunAsync("iptables-restore", ["--noflush"], script.ToString(), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Deletes every rule whose tag starts with <paramref name="tagPrefix"/>; returns how many.</summary>
    public async Task<int> RemoveAsync(string tagPrefix, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var script = new StringBuilder();
            int count = 0;
            foreach (string table in new[] { "nat", "filter" })
            {
                string saved = await RunAsync("iptables-save", ["-t", table], null, cancellationToken).ConfigureAwait(false);
                var deletes = saved.Split('\n')
                    .Where(l => l.StartsWith("-A BERTH", StringComparison.Ordinal) && TagOf(l) is { } t && t.StartsWith(tagPrefix, StringComparison.Ordinal))
                    .Select(l => "-D" + l[2..])
                    .ToList();
                if (deletes.Count > 0)
                {
                    script.Append('*').Append(table).Append('\n');
                    foreach (string delete in deletes)
                    {
                        script.Append(delete).Append('\n');
                    }

                    script.Append("COMMIT\n");
                    count += deletes.Count;
                }
            }

            if (count > 0)
            {
                await RunAsync("iptables-restore", ["--noflush"], script.ToString(), cancellationToken).ConfigureAwait(false);
            }

            return count;
        }
        finally
        {
            _lock.Release();
        }
    }

    private static string? TagOf(string line)
    {
        const string marker = "--comment ";
        int at = line.IndexOf(marker, StringComparison.Ordinal);
        if (at < 0)
        {
            return null;
        }

        string rest = line[(at + marker.Length)..].TrimStart('"');
        int end = rest.IndexOfAny([' ', '"']);
        return end < 0 ? rest : rest[..end];
    }

    private async Task<string> RunAsync(string program, IReadOnlyList<string> arguments, string? input, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardInput = input is not null,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // Waits for the xtables lock rather than failing when another process holds it.
        if (program == "iptables-restore")
        {
            start.ArgumentList.Add("--wait");
        }

        using Process process = Process.Start(start) ?? throw new EngineException(ErrorKind.Internal, $"cannot run {program}");
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input.AsMemory(), cancellationToken).ConfigureAwait(false);
            process.StandardInput.Close();
        }

        Task<string> output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        string error = await process.StandardError.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            LogFailed(program, error.Trim(), input ?? "");
            throw new EngineException(ErrorKind.Internal, $"{program} failed: {error.Trim()}");
        }

        return await output.ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 600, Level = LogLevel.Warning, Message = "{Program} failed: {Error}; input:\n{Input}")]
    private partial void LogFailed(string program, string error, string input);
}
