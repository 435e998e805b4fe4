using System.Diagnostics;
using System.Text;
using Berth.Primitives;
using Microsoft.Extensions.Logging;

namespace Berth.Engine.Networking;

/// <summary>
/// Berth's packet filtering and NAT through iptables, only in its own chains (BERTH*) and the jumps to them.
/// Every rule carries a comment tag (<c>berth:SCOPE:net:ID</c>, <c>berth:SCOPE:port:ID</c>) so a network's or a
/// container's rules are removed exactly, and rebuilt at start, without touching anybody else's rules.
/// One <c>iptables-restore --noflush</c> per change: per network, per container with published ports. IPv6 rules go
/// the same way through ip6tables (same chains, same tags) when the host has it.
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

    /// <summary>Whether ip6tables works here (set by <see cref="EnsureBaseAsync"/>): v6 networks and ports get rules then.</summary>
    public bool HasIp6tables { get; private set; }

    public void Dispose() => _lock.Dispose();

    private static string Save(bool ipv6) => ipv6 ? "ip6tables-save" : "iptables-save";

    private static string Restore(bool ipv6) => ipv6 ? "ip6tables-restore" : "iptables-restore";

    /// <summary>The families rules exist in: v4, and v6 when ip6tables works.</summary>
    private bool[] Families => HasIp6tables ? [false, true] : [false];

    /// <summary>Creates Berth's chains and the jumps to them when missing (idempotent; other daemons may share them).</summary>
    public async Task EnsureBaseAsync(CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            HasIp6tables = await WorksAsync(cancellationToken).ConfigureAwait(false);
            foreach (bool ipv6 in Families)
            {
                await EnsureBaseAsync(ipv6, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>ip6tables is there and its nat table loads (a kernel without ip6table_nat has none).</summary>
    private async Task<bool> WorksAsync(CancellationToken cancellationToken)
    {
        try
        {
            await RunAsync("ip6tables-save", ["-t", "nat"], null, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is EngineException or System.ComponentModel.Win32Exception)
        {
            LogNoIp6tables(e.Message);
            return false;
        }
    }

    private async Task EnsureBaseAsync(bool ipv6, CancellationToken cancellationToken)
    {
        var script = new StringBuilder();
        foreach (string table in new[] { "nat", "filter" })
        {
            string saved = await RunAsync(Save(ipv6), ["-t", table], null, cancellationToken).ConfigureAwait(false);
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

        await RunAsync(Restore(ipv6), ["--noflush"], script.ToString(), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Appends rules (<c>CHAIN args</c> by table), each tagged with <paramref name="tag"/>; ip6tables ones with <paramref name="ipv6"/>.</summary>
    public async Task AddAsync(string tag, IReadOnlyList<(string Table, string Rule)> rules, CancellationToken cancellationToken, bool ipv6 = false)
    {
        if (rules.Count == 0 || (ipv6 && !HasIp6tables))
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
            await RunAsync(Restore(ipv6), ["--noflush"], script.ToString(), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Deletes every rule (v4 and v6) whose tag starts with <paramref name="tagPrefix"/>; returns how many.</summary>
    public async Task<int> RemoveAsync(string tagPrefix, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            int count = 0;
            foreach (bool ipv6 in Families)
            {
                count += await RemoveAsync(tagPrefix, ipv6, cancellationToken).ConfigureAwait(false);
            }

            return count;
        }
        finally
        {
            _lock.Release();
        }
    }

    private async Task<int> RemoveAsync(string tagPrefix, bool ipv6, CancellationToken cancellationToken)
    {
        var script = new StringBuilder();
        int count = 0;
        foreach (string table in new[] { "nat", "filter" })
        {
            string saved = await RunAsync(Save(ipv6), ["-t", table], null, cancellationToken).ConfigureAwait(false);
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
            await RunAsync(Restore(ipv6), ["--noflush"], script.ToString(), cancellationToken).ConfigureAwait(false);
        }

        return count;
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
        if (program is "iptables-restore" or "ip6tables-restore")
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

    [LoggerMessage(EventId = 601, Level = LogLevel.Information, Message = "no ip6tables ({Reason}): IPv6 networks get no filtering or NAT")]
    private partial void LogNoIp6tables(string reason);

    [LoggerMessage(EventId = 600, Level = LogLevel.Warning, Message = "{Program} failed: {Error}; input:\n{Input}")]
    private partial void LogFailed(string program, string error, string input);
}
