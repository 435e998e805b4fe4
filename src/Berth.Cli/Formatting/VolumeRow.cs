using Berth.Api.Types;
using Berth.Cli.Templates;

namespace Berth.Cli;

/// <summary>One row of <c>volume ls</c>: docker's volumeContext.</summary>
internal sealed class VolumeRow(Volume volume) : FieldRow
{
    public const string DefaultTable = "table {{.Driver}}\t{{.Name}}";
    public const string QuietFormat = "{{.Name}}";
    private const string NotAvailable = "N/A";

    public static readonly HeaderRow Header = new(new Dictionary<string, string>
    {
        ["Name"] = "VOLUME NAME",
        ["Driver"] = "DRIVER",
        ["Scope"] = "SCOPE",
        ["Mountpoint"] = "MOUNTPOINT",
        ["Labels"] = "LABELS",
        ["Links"] = "LINKS",
        ["Size"] = "SIZE",
        ["Group"] = "GROUP",
        ["Availability"] = "AVAILABILITY",
        ["Status"] = "STATUS",
    });

    private static readonly string[] Fields = ["Availability", "Driver", "Group", "Labels", "Links", "Mountpoint", "Name", "Scope", "Size", "Status"];

    public override string TypeName => "*formatter.volumeContext";

    protected override IEnumerable<string> JsonFields => Fields;

    public override bool TryGetField(string name, IReadOnlyList<object?> args, out object? value)
    {
        value = name switch
        {
            "Name" => volume.Name,
            "Driver" => volume.Driver,
            "Scope" => volume.Scope,
            "Mountpoint" => volume.Mountpoint,
            "Labels" => string.Join(',', volume.Labels.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Key + "=" + p.Value)),
            "Label" when args.Count == 1 => volume.Labels.GetValueOrDefault(TemplateValues.Print(args[0]), ""),
            "Links" => volume.UsageData is { } usage ? usage.RefCount.ToString(System.Globalization.CultureInfo.InvariantCulture) : NotAvailable,
            "Size" => volume.UsageData is { Size: >= 0 } sized ? Units.HumanSize(sized.Size, 3) : NotAvailable,
            "Group" or "Availability" or "Status" => NotAvailable,
            _ => null,
        };

        return value is not null;
    }
}
