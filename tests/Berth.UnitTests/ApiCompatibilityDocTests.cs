using Berth.Tests.Shared;

namespace Berth.UnitTests;

/// <summary>
/// docs/api-compatibility.md cannot drift from the Engine API: every endpoint of the swagger has exactly one row, no row
/// names an endpoint the swagger lacks, and a partial endpoint says what is missing. (That the rows marked served are
/// routed by berthd, and the others are not, is checked against a running daemon by ApiCompatibilityRoutingTests.)
/// </summary>
public sealed class ApiCompatibilityDocTests
{
    private static string RepoRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Berth.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException($"no Berth.slnx above {AppContext.BaseDirectory}");
    }

    private static readonly string Root = RepoRoot();

    [Fact]
    public void The_swagger_is_read_completely()
    {
        IReadOnlyList<ApiEndpoint> swagger = ApiCompatibilityTable.ReadSwagger(ApiCompatibilityTable.SwaggerPath(Root));
        // Spot checks on both ends of the document and a path with two methods, so a broken scan cannot pass as "nothing to check".
        Assert.Contains(new ApiEndpoint("GET", "/containers/json"), swagger);
        Assert.Contains(new ApiEndpoint("HEAD", "/_ping"), swagger);
        Assert.Contains(new ApiEndpoint("GET", "/_ping"), swagger);
        Assert.Contains(new ApiEndpoint("POST", "/session"), swagger);
        Assert.True(swagger.Count > 100, $"only {swagger.Count} endpoints read from the swagger");
        Assert.Equal(swagger.Count, swagger.Distinct().Count());
    }

    [Fact]
    public void Every_swagger_endpoint_has_exactly_one_row_and_every_row_is_a_swagger_endpoint()
    {
        IReadOnlyList<ApiEndpoint> swagger = ApiCompatibilityTable.ReadSwagger(ApiCompatibilityTable.SwaggerPath(Root));
        IReadOnlyList<ApiCompatibilityRow> table = ApiCompatibilityTable.ReadTable(ApiCompatibilityTable.DocPath(Root));

        string[] missing = [.. swagger.Except(table.Select(r => r.Endpoint)).Select(e => e.ToString())];
        Assert.True(missing.Length == 0, "docs/api-compatibility.md lacks rows for: " + string.Join(", ", missing));
        string[] unknown = [.. table.Select(r => r.Endpoint).Except(swagger).Select(e => e.ToString())];
        Assert.True(unknown.Length == 0, "docs/api-compatibility.md has rows for endpoints the v1.50 swagger does not define: " + string.Join(", ", unknown));
        string[] twice = [.. table.GroupBy(r => r.Endpoint).Where(g => g.Count() > 1).Select(g => g.Key.ToString())];
        Assert.True(twice.Length == 0, "rows listed more than once: " + string.Join(", ", twice));
    }

    [Fact]
    public void A_partial_or_missing_endpoint_says_what_is_missing()
    {
        IReadOnlyList<ApiCompatibilityRow> table = ApiCompatibilityTable.ReadTable(ApiCompatibilityTable.DocPath(Root));
        string[] unexplained = [.. table.Where(r => r.Status != ApiCompatibilityRow.Complete && r.Notes.Length == 0).Select(r => r.Endpoint.ToString())];
        Assert.True(unexplained.Length == 0, "partial / not yet rows without notes: " + string.Join(", ", unexplained));
    }

    [Fact]
    public void A_malformed_row_is_an_error_not_a_skipped_line()
    {
        using var dir = new TempDirectory();
        string doc = dir.Combine("doc.md");
        File.WriteAllText(doc, "| Method | Path | Status | Notes |\n|---|---|---|---|\n| GET | `/info` | complete | |\n| GET | /version | done | |\n");
        FormatException error = Assert.Throws<FormatException>(() => ApiCompatibilityTable.ReadTable(doc));
        Assert.Contains("/version", error.Message, StringComparison.Ordinal);
    }
}
