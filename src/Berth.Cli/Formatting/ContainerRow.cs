using System.Globalization;
using System.Text.Json.Nodes;
using Berth.Api.Types;
using Berth.Cli.Templates;

namespace Berth.Cli;

/// <summary>One row of <c>ps</c>: the fields of docker's ContainerContext, computed as docker computes them.</summary>
internal sealed class ContainerRow(ContainerSummary summary, bool truncate, DateTimeOffset now, TimeZoneInfo zone) : FieldRow
{
    // The wire record's defaults do not survive source-generated deserialization of absent or null
    // fields, so every value is made safe here once.
    private readonly ContainerSummary container = summary with
    {
        Id = summary.Id ?? "",
        Names = summary.Names ?? [],
        Image = summary.Image ?? "",
        ImageID = summary.ImageID ?? "",
        Command = summary.Command ?? "",
        Ports = summary.Ports ?? [],
        Labels = summary.Labels ?? [],
        State = summary.State ?? "",
        Status = summary.Status ?? "",
        Mounts = summary.Mounts ?? [],
        NetworkSettings = summary.NetworkSettings is { Networks: not null } settings ? settings : new SummaryNetworkSettings(),
    };

    public const string DefaultTable = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";
    public const string QuietFormat = "{{.ID}}";

    public static readonly HeaderRow Header = new(new Dictionary<string, string>
    {
        ["ID"] = "CONTAINER ID",
        ["Names"] = "NAMES",
        ["Image"] = "IMAGE",
        ["Command"] = "COMMAND",
        ["CreatedAt"] = "CREATED AT",
        ["RunningFor"] = "CREATED",
        ["Ports"] = "PORTS",
        ["State"] = "STATE",
        ["Status"] = "STATUS",
        ["Size"] = "SIZE",
        ["Labels"] = "LABELS",
        ["Mounts"] = "MOUNTS",
        ["LocalVolumes"] = "LOCAL VOLUMES",
        ["Networks"] = "NETWORKS",
    });

    private static readonly string[] Fields =
        ["Command", "CreatedAt", "ID", "Image", "Labels", "LocalVolumes", "Mounts", "Names", "Networks", "Ports", "RunningFor", "Size", "State", "Status"];

    public override string TypeName => "*formatter.ContainerContext";

    protected override IEnumerable<string> JsonFields => Fields;

    public override bool TryGetField(string name, IReadOnlyList<object?> args, out object? value)
    {
        value = name switch
        {
            "ID" => truncate ? GoStrings.TruncateId(container.Id) : container.Id,
            "Names" => Names(),
            "Image" => Image(),
            "Command" => GoStrings.Quote(truncate ? GoStrings.Ellipsis(container.Command, 20) : container.Command),
            "CreatedAt" => Units.GoTimeString(DateTimeOffset.FromUnixTimeSeconds(container.Created), zone),
            "RunningFor" => Units.HumanDuration(now - DateTimeOffset.FromUnixTimeSeconds(container.Created)) + " ago",
            "Ports" => DisplayablePorts(container.Ports),
            "State" => container.State,
            "Status" => container.Status,
            "Size" => "0B",
            "Labels" => string.Join(',', container.Labels.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Key + "=" + p.Value)),
            "Label" when args.Count == 1 => container.Labels.GetValueOrDefault(TemplateValues.Print(args[0]), ""),
            "Mounts" => Mounts(),
            "LocalVolumes" => container.Mounts.Count(m => m.Driver == "local").ToString(CultureInfo.InvariantCulture),
            "Networks" => string.Join(',', container.NetworkSettings.Networks.Keys.Order(StringComparer.Ordinal)),
            _ => null,
        };

        return value is not null;
    }

    private string Names()
    {
        var names = container.Names.Select(n => n.TrimStart('/')).ToList();
        if (truncate)
        {
            // Legacy links show up as "/other/alias": keep the container's own name only.
            string? own = names.FirstOrDefault(n => !n.Contains('/', StringComparison.Ordinal));
            if (own is not null)
            {
                return own;
            }
        }

        return string.Join(',', names);
    }

    private string Image()
    {
        string image = container.Image;
        if (image.Length == 0)
        {
            return "<no image>";
        }

        if (!truncate)
        {
            return image;
        }

        string truncatedId = GoStrings.TruncateId(container.ImageID);
        if (truncatedId.Length > 0 && truncatedId == GoStrings.TruncateId(image))
        {
            return truncatedId;
        }

        (string repository, string? tag, string? digest) = ImageRefs.Split(image);
        return digest is null && tag is null ? ImageRefs.Familiar(repository)
            : tag is not null ? ImageRefs.Familiar(repository) + ":" + tag
            : ImageRefs.Familiar(repository);
    }

    private string Mounts()
    {
        var names = new List<string>();
        foreach (MountPoint m in container.Mounts)
        {
            string name = !string.IsNullOrEmpty(m.Name) ? m.Name : m.Source ?? "";
            if (truncate)
            {
                name = GoStrings.Ellipsis(name, 15);
            }

            names.Add(name);
        }

        return string.Join(',', names);
    }

    /// <summary>Docker's <c>DisplayablePorts</c>: consecutive ports grouped into ranges, host mappings last.</summary>
    public static string DisplayablePorts(IEnumerable<PortSummary> ports)
    {
        var sorted = ports.ToList();
        sorted.Sort((a, b) =>
            a.PrivatePort != b.PrivatePort ? a.PrivatePort.CompareTo(b.PrivatePort)
            : !string.Equals(a.IP ?? "", b.IP ?? "", StringComparison.Ordinal) ? string.CompareOrdinal(a.IP ?? "", b.IP ?? "")
            : (a.PublicPort ?? 0) != (b.PublicPort ?? 0) ? (a.PublicPort ?? 0).CompareTo(b.PublicPort ?? 0)
            : string.CompareOrdinal(a.Type, b.Type));

        var groups = new Dictionary<string, (int First, int Last)>(StringComparer.Ordinal);
        var order = new List<string>();
        var result = new List<string>();
        var hostMappings = new List<string>();
        foreach (PortSummary port in sorted)
        {
            int current = port.PrivatePort;
            string key = port.Type ?? "tcp";
            if (!string.IsNullOrEmpty(port.IP))
            {
                if ((port.PublicPort ?? 0) != current)
                {
                    hostMappings.Add($"{JoinHostPort(port.IP, (port.PublicPort ?? 0).ToString(CultureInfo.InvariantCulture))}->{current}/{port.Type}");
                    continue;
                }

                key = port.IP + "/" + port.Type;
            }

            if (!groups.TryGetValue(key, out (int First, int Last) group))
            {
                groups[key] = (current, current);
                order.Add(key);
                continue;
            }

            if (current == group.Last + 1)
            {
                groups[key] = (group.First, current);
                continue;
            }

            result.Add(FormGroup(key, group.First, group.Last));
            groups[key] = (current, current);
        }

        foreach (string key in order)
        {
            result.Add(FormGroup(key, groups[key].First, groups[key].Last));
        }

        result.AddRange(hostMappings);
        return string.Join(", ", result);
    }

    private static string FormGroup(string key, int first, int last)
    {
        int slash = key.LastIndexOf('/');
        string type = slash >= 0 ? key[(slash + 1)..] : key;
        string ip = slash >= 0 ? key[..slash] : "";
        string group = first == last ? first.ToString(CultureInfo.InvariantCulture) : $"{first}-{last}";
        if (ip.Length > 0)
        {
            group = $"{JoinHostPort(ip, group)}->{group}";
        }

        return $"{group}/{type}";
    }

    private static string JoinHostPort(string host, string port) =>
        host.Contains(':', StringComparison.Ordinal) ? $"[{host}]:{port}" : $"{host}:{port}";

    public override string ToString() => TemplateValues.ToJsonString(ToJson());
}
