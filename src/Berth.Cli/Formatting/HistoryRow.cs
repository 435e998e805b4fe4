using System.Globalization;
using Berth.Api.Types;

namespace Berth.Cli;

/// <summary>One row of <c>history</c>: docker's historyContext.</summary>
internal sealed class HistoryRow(HistoryResponseItem item, bool truncate, bool human, DateTimeOffset now, TimeZoneInfo zone) : FieldRow
{
    public const string DefaultTable = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";
    public const string QuietFormat = "{{.ID}}";

    public static readonly HeaderRow Header = new(new Dictionary<string, string>
    {
        ["ID"] = "IMAGE",
        ["CreatedSince"] = "CREATED",
        ["CreatedAt"] = "CREATED AT",
        ["CreatedBy"] = "CREATED BY",
        ["Size"] = "SIZE",
        ["Comment"] = "COMMENT",
    });

    private static readonly string[] Fields = ["Comment", "CreatedAt", "CreatedBy", "CreatedSince", "ID", "Size"];

    public override string TypeName => "*image.historyContext";

    protected override IEnumerable<string> JsonFields => Fields;

    public override bool TryGetField(string name, IReadOnlyList<object?> args, out object? value)
    {
        value = name switch
        {
            "ID" => truncate && item.Id.StartsWith("sha256:", StringComparison.Ordinal) ? GoStrings.TruncateId(item.Id) : item.Id,
            "CreatedAt" => Rfc3339(item.Created, zone),
            "CreatedSince" => human
                ? Units.HumanDuration(now - DateTimeOffset.FromUnixTimeSeconds(item.Created)) + " ago"
                : Rfc3339(item.Created, zone),
            "CreatedBy" => truncate ? GoStrings.Ellipsis(item.CreatedBy.Replace('\t', ' '), 45) : item.CreatedBy.Replace('\t', ' '),
            "Size" => human ? Units.HumanSize(item.Size, 3) : item.Size.ToString(CultureInfo.InvariantCulture),
            "Comment" => item.Comment,
            _ => null,
        };

        return value is not null;
    }

    /// <summary>Go's <c>time.RFC3339</c> in the given zone: <c>Z</c> for UTC, else <c>+hh:mm</c>.</summary>
    public static string Rfc3339(long unixSeconds, TimeZoneInfo zone)
    {
        DateTimeOffset local = TimeZoneInfo.ConvertTime(DateTimeOffset.FromUnixTimeSeconds(unixSeconds), zone);
        string offset = local.Offset == TimeSpan.Zero
            ? "Z"
            : (local.Offset < TimeSpan.Zero ? "-" : "+") + local.Offset.Duration().ToString(@"hh\:mm", CultureInfo.InvariantCulture);
        return local.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture) + offset;
    }
}
