using System.Text;
using System.Text.Json.Nodes;
using Berth.Cli.Templates;

namespace Berth.Cli;

/// <summary>
/// Renders rows with a docker <c>--format</c> value: <c>table</c> (the command's default table),
/// <c>table TEMPLATE</c> (a header row from the field names, tab-aligned), <c>json</c> (one JSON object
/// per line) or a bare TEMPLATE (one line per row). <c>\t</c> and <c>\n</c> typed literally are expanded.
/// </summary>
internal static class ListFormat
{
    public const string TableKey = "table";
    public const string JsonKey = "json";

    public static bool IsTable(string format) => format.StartsWith(TableKey, StringComparison.Ordinal);

    /// <summary>Expands the keywords: empty or <c>table</c> gives the default table, <c>json</c> gives <c>{{json .}}</c>.</summary>
    public static string Resolve(string? format, string defaultTable)
    {
        if (string.IsNullOrEmpty(format) || format == TableKey)
        {
            return defaultTable;
        }

        return format == JsonKey ? "{{json .}}" : format;
    }

    /// <summary>Docker's <c>preFormat</c>: drops the <c>table</c> prefix, trims spaces, expands <c>\t</c> and <c>\n</c>.</summary>
    public static string Prepare(string format)
    {
        string body = IsTable(format) ? format[TableKey.Length..] : format;
        return body.Trim(' ').Replace("\\t", "\t", StringComparison.Ordinal).Replace("\\n", "\n", StringComparison.Ordinal);
    }

    /// <summary>Renders <paramref name="rows"/>; for tables, <paramref name="header"/> supplies the column titles.</summary>
    /// <exception cref="TemplateException">The template is invalid or fails on a row.</exception>
    public static string Render(string format, IEnumerable<object?> rows, ITemplateObject header)
    {
        GoTemplate template = ParseForCli(Prepare(format));
        var body = new StringBuilder();
        foreach (object? row in rows)
        {
            body.Append(template.Execute(row)).Append('\n');
        }

        if (!IsTable(format))
        {
            return body.ToString();
        }

        TabWriter writer = TabWriter.ForTables();
        writer.Write(template.Execute(header, header: true));
        writer.Write("\n");
        writer.Write(body.ToString());
        return writer.Flush();
    }

    /// <summary>Parses a user template, turning errors into docker's <c>template parsing error: ...</c>.</summary>
    public static GoTemplate ParseForCli(string template, IReadOnlyDictionary<string, TemplateFunction>? extra = null)
    {
        try
        {
            return GoTemplate.Parse(template, extra);
        }
        catch (TemplateException e)
        {
            throw new TemplateException("template parsing error: " + e.Message);
        }
    }
}

/// <summary>
/// The header row of a table: each field renders as its column title (docker's SubHeaderContext);
/// <c>.Label "com.example.name"</c> renders as <c>name</c>.
/// </summary>
internal sealed class HeaderRow(IReadOnlyDictionary<string, string> titles) : ITemplateObject
{
    public string TypeName => "formatter.SubHeaderContext";

    public bool TryGetField(string name, IReadOnlyList<object?> args, out object? value)
    {
        if (name == "Label" && args.Count == 1)
        {
            string label = TemplateValues.Print(args[0]);
            value = label.Split('.')[^1].Replace('-', ' ').Replace('_', ' ');
            return true;
        }

        value = titles.TryGetValue(name, out string? title) ? title : NoValue.Instance;
        return true;
    }

    public JsonNode ToJson()
    {
        var o = new JsonObject();
        foreach ((string key, string title) in titles.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            o[key] = title;
        }

        return o;
    }
}

/// <summary>A row whose fields are computed by name, with sorted-key JSON (docker's formatter contexts).</summary>
internal abstract class FieldRow : ITemplateObject
{
    public abstract string TypeName { get; }

    /// <summary>The fields <c>{{json .}}</c> shows, in any order (they are sorted as Go sorts map keys).</summary>
    protected abstract IEnumerable<string> JsonFields { get; }

    public abstract bool TryGetField(string name, IReadOnlyList<object?> args, out object? value);

    public JsonNode ToJson()
    {
        var o = new JsonObject();
        foreach (string name in JsonFields.OrderBy(n => n, StringComparer.Ordinal))
        {
            TryGetField(name, [], out object? value);
            o[name] = TemplateValues.ToNode(value);
        }

        return o;
    }
}
