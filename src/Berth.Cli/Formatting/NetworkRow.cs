using Berth.Api.Types;

namespace Berth.Cli;

/// <summary>One row of <c>network ls</c>: docker's networkContext.</summary>
internal sealed class NetworkRow(NetworkInspect network, bool truncate, TimeZoneInfo zone) : FieldRow
{
    public const string DefaultTable = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}";
    public const string QuietFormat = "{{.ID}}";

    public static readonly HeaderRow Header = new(new Dictionary<string, string>
    {
        ["ID"] = "NETWORK ID",
        ["Name"] = "NAME",
        ["Driver"] = "DRIVER",
        ["Scope"] = "SCOPE",
        ["IPv4"] = "IPV4",
        ["IPv6"] = "IPV6",
        ["Internal"] = "INTERNAL",
        ["Labels"] = "LABELS",
        ["CreatedAt"] = "CREATED AT",
    });

    private static readonly string[] Fields = ["CreatedAt", "Driver", "ID", "IPv4", "IPv6", "Internal", "Labels", "Name", "Scope"];

    public override string TypeName => "*formatter.networkContext";

    protected override IEnumerable<string> JsonFields => Fields;

    public override bool TryGetField(string name, IReadOnlyList<object?> args, out object? value)
    {
        value = name switch
        {
            "ID" => truncate && network.Id.Length > 12 ? network.Id[..12] : network.Id,
            "Name" => network.Name,
            "Driver" => network.Driver,
            "Scope" => network.Scope,
            "IPv4" => network.EnableIPv4 ? "true" : "false",
            "IPv6" => network.EnableIPv6 ? "true" : "false",
            "Internal" => network.Internal ? "true" : "false",
            "Labels" => string.Join(",", network.Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}")),
            "Label" => args.Count == 1 && args[0] is string key && network.Labels.TryGetValue(key, out string? label) ? label : "",
            "CreatedAt" => DateTimeOffset.TryParse(network.Created, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out DateTimeOffset created)
                ? Units.GoTimeString(created, zone)
                : network.Created,
            _ => null,
        };

        return value is not null;
    }
}
