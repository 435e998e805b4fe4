using Berth.Api.Types;

namespace Berth.Cli.Formatting;

/// <summary>A row of <c>search</c>: docker's searchContext fields.</summary>
internal sealed class SearchRow(ImageSearchResult result, bool truncate) : FieldRow
{
    public const string DefaultTable = "table {{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}";

    /// <summary>docker cuts descriptions at 45 characters unless --no-trunc.</summary>
    private const int DescriptionWidth = 45;

    public static readonly HeaderRow Header = new(new Dictionary<string, string>
    {
        ["Name"] = "NAME",
        ["Description"] = "DESCRIPTION",
        ["StarCount"] = "STARS",
        ["IsOfficial"] = "OFFICIAL",
        ["IsAutomated"] = "AUTOMATED",
    });

    private static readonly string[] Fields = ["Description", "IsAutomated", "IsOfficial", "Name", "StarCount"];

    public override string TypeName => "*formatter.searchContext";

    protected override IEnumerable<string> JsonFields => Fields;

    public override bool TryGetField(string name, IReadOnlyList<object?> args, out object? value)
    {
        value = name switch
        {
            "Name" => result.Name,
            "Description" => truncate && result.Description.Length > DescriptionWidth ? result.Description[..(DescriptionWidth - 1)] + "…" : result.Description.ReplaceLineEndings(" "),
            "StarCount" => result.StarCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "IsOfficial" => result.IsOfficial ? "[OK]" : "",
            "IsAutomated" => result.IsAutomated ? "[OK]" : "",
            _ => null,
        };

        return value is not null;
    }
}
