using System.Net;
using Berth.Api.Types;
using Berth.Primitives;

namespace Berth.Engine.Containers;

/// <summary>
/// The create request's free-text fields that end up in files inside the container (/etc/hostname, /etc/hosts,
/// /etc/resolv.conf) or in the runtime's spec: checked before anything is made, so no field can add a line to those
/// files or smuggle a second value in. Each error names the field, with Docker's words where dockerd has them.
/// </summary>
public static class ContainerFields
{
    /// <summary>Linux refuses a longer UTS name (HOST_NAME_MAX).</summary>
    private const int MaxHostnameLength = 64;

    public static void Validate(ContainerConfig config, HostConfig hostConfig)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(hostConfig);
        CheckHostname(config.Hostname, "Hostname");
        CheckHostname(config.Domainname, "Domainname");
        foreach (string entry in config.Env ?? [])
        {
            if (entry.Length == 0 || entry[0] == '=' || entry.Contains('\0', StringComparison.Ordinal))
            {
                throw EngineException.Invalid($"invalid environment variable: {Printable(entry)}");
            }
        }

        foreach (string extra in hostConfig.ExtraHosts ?? [])
        {
            int split = extra.IndexOf('=', StringComparison.Ordinal) is > 0 and var equals ? equals : extra.IndexOf(':', StringComparison.Ordinal);
            string host = split > 0 ? extra[..split] : "";
            string address = split > 0 ? extra[(split + 1)..] : "";
            if (host.Length == 0 || !IsName(host))
            {
                throw EngineException.Invalid($"invalid ExtraHosts entry {Printable(extra)}: expected HOST:IP");
            }

            if (address != "host-gateway" && !IPAddress.TryParse(address.Trim('[', ']'), out _))
            {
                throw EngineException.Invalid($"invalid IP address in add-host: \"{Printable(address)}\"");
            }
        }

        foreach (string dns in hostConfig.Dns ?? [])
        {
            if (!IPAddress.TryParse(dns, out _))
            {
                throw EngineException.Invalid($"invalid Dns entry: {Printable(dns)} is not an IP address");
            }
        }

        foreach (string search in hostConfig.DnsSearch ?? [])
        {
            if (search != "." && !IsName(search))
            {
                throw EngineException.Invalid($"invalid DnsSearch entry: {Printable(search)} is not a valid domain");
            }
        }

        foreach (string option in hostConfig.DnsOptions ?? [])
        {
            if (option.Length == 0 || option.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
            {
                throw EngineException.Invalid($"invalid DnsOptions entry: \"{Printable(option)}\"");
            }
        }

        foreach ((string key, string value) in hostConfig.Sysctls ?? [])
        {
            if (key.Length == 0 || key.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c == '=') || value.Any(char.IsControl))
            {
                throw EngineException.Invalid($"invalid Sysctls entry: \"{Printable(key)}={Printable(value)}\"");
            }
        }
    }

    private static void CheckHostname(string? name, string field)
    {
        if (string.IsNullOrEmpty(name))
        {
            return;
        }

        if (name.Length > MaxHostnameLength || !IsName(name))
        {
            throw EngineException.Invalid($"invalid {field} format: \"{Printable(name)}\" (letters, digits, '-', '_' and '.', at most {MaxHostnameLength} characters)");
        }
    }

    /// <summary>A host or domain name: dot-separated labels of letters, digits, '-' and '_' (Docker allows '_' in names).</summary>
    private static bool IsName(string name) =>
        name.Length <= 253 && name.Split('.').All(label => label.Length is > 0 and <= 63 && label.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        || (name.EndsWith('.') && name.Length > 1 && IsName(name[..^1]));

    /// <summary>The value as an error message may show it: control characters escaped, never a raw newline.</summary>
    private static string Printable(string value) =>
        string.Concat(value.Select(c => char.IsControl(c) ? $"\\x{(int)c:x2}" : c.ToString()));
}
