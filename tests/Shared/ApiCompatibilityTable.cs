using System.Text.RegularExpressions;

namespace Berth.Tests.Shared;

/// <summary>One Engine API endpoint: an HTTP method and a path template of the swagger (<c>/containers/{id}/json</c>).</summary>
public sealed record ApiEndpoint(string Method, string Path)
{
    public override string ToString() => $"{Method} {Path}";
}

/// <summary>A row of docs/api-compatibility.md.</summary>
public sealed record ApiCompatibilityRow(ApiEndpoint Endpoint, string Status, string Notes)
{
    public const string Complete = "complete";
    public const string Partial = "partial";
    public const string NotYet = "not yet";

    /// <summary>Complete and partial endpoints are served by berthd; "not yet" ones answer 404 "page not found".</summary>
    public bool IsServed => Status is Complete or Partial;
}

/// <summary>
/// Reads the two sides the compatibility checks compare: the endpoints of the Engine API swagger Berth implements
/// (docs/reference, Docker's v1.50 document) and the table in docs/api-compatibility.md. Linked into the unit tests
/// (swagger against table) and the integration tests (table against a running berthd).
/// </summary>
public static partial class ApiCompatibilityTable
{
    public static string DocPath(string repoRoot) => System.IO.Path.Combine(repoRoot, "docs", "api-compatibility.md");

    public static string SwaggerPath(string repoRoot) => System.IO.Path.Combine(repoRoot, "docs", "reference", "docker-engine-api-v1.50.yaml");

    /// <summary>
    /// The (method, path) pairs under the swagger's top-level <c>paths:</c>. The document's layout is fixed (two spaces
    /// before a path, four before a method), so a line scan reads it without a YAML library.
    /// </summary>
    public static IReadOnlyList<ApiEndpoint> ReadSwagger(string swaggerPath)
    {
        var endpoints = new List<ApiEndpoint>();
        bool inPaths = false;
        string? path = null;
        foreach (string line in File.ReadLines(swaggerPath))
        {
            if (!inPaths)
            {
                inPaths = line == "paths:";
                continue;
            }

            if (line.Length > 0 && !char.IsWhiteSpace(line[0]))
            {
                break; // the next top-level key: paths are over
            }

            Match pathLine = SwaggerPathLine().Match(line);
            if (pathLine.Success)
            {
                path = pathLine.Groups[1].Value;
                continue;
            }

            Match methodLine = SwaggerMethodLine().Match(line);
            if (methodLine.Success && path is not null)
            {
                endpoints.Add(new ApiEndpoint(methodLine.Groups[1].Value.ToUpperInvariant(), path));
            }
        }

        return endpoints;
    }

    /// <summary>The table rows: <c>| GET | `/containers/json` | complete | notes |</c>. Any other table row is an error, not skipped.</summary>
    public static IReadOnlyList<ApiCompatibilityRow> ReadTable(string docPath)
    {
        var rows = new List<ApiCompatibilityRow>();
        foreach (string line in File.ReadLines(docPath))
        {
            if (!line.StartsWith("| ", StringComparison.Ordinal) || line.StartsWith("| Method ", StringComparison.Ordinal) || line.StartsWith("|---", StringComparison.Ordinal))
            {
                continue;
            }

            Match row = TableRow().Match(line);
            if (!row.Success)
            {
                throw new FormatException($"{docPath}: a table row that is not `| METHOD | `path` | complete/partial/not yet | notes |`: {line}");
            }

            rows.Add(new ApiCompatibilityRow(new ApiEndpoint(row.Groups[1].Value, row.Groups[2].Value), row.Groups[3].Value, row.Groups[4].Value.Trim()));
        }

        return rows;
    }

    [GeneratedRegex(@"^  (/\S*):\s*$", RegexOptions.CultureInvariant)]
    private static partial Regex SwaggerPathLine();

    [GeneratedRegex(@"^    (get|post|put|delete|head|patch|options):\s*$", RegexOptions.CultureInvariant)]
    private static partial Regex SwaggerMethodLine();

    [GeneratedRegex(@"^\| (GET|POST|PUT|DELETE|HEAD|PATCH|OPTIONS) \| `(/[^`]*)` \| (complete|partial|not yet) \|(.*)\|$", RegexOptions.CultureInvariant)]
    private static partial Regex TableRow();
}
