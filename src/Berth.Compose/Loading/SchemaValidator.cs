using System.Text.Json;
using System.Text.RegularExpressions;

namespace Berth.Compose.Loading;

/// <summary>
/// Checks a compose tree against the Compose Specification's JSON schema (embedded as a resource).
/// No JSON-schema library we could use is NativeAOT/trim-safe, and compose files need only a small part of
/// the standard: type, properties, patternProperties, additionalProperties, required, items, enum, oneOf/anyOf
/// and local $ref. This walks the schema with JsonElement (no reflection) over our node tree, so each error
/// names the file, line and key path as compose does: <c>compose.yaml:7: services.web.ports must be a list</c>,
/// <c>services.web Additional property foo is not allowed</c>.
/// </summary>
public static class SchemaValidator
{
    private static readonly Lazy<JsonDocument> Schema = new(LoadSchema);
    private static readonly Dictionary<string, Regex> Patterns = new(StringComparer.Ordinal);
    private static readonly Lock PatternsLock = new();

    private static JsonDocument LoadSchema()
    {
        using Stream stream = typeof(SchemaValidator).Assembly.GetManifestResourceStream("compose-spec.json")
            ?? throw new InvalidOperationException("the compose schema resource is missing");
        return JsonDocument.Parse(stream);
    }

    /// <summary>Validates a whole (merged) compose document.</summary>
    /// <exception cref="ComposeException">The first problem, with its location.</exception>
    public static void Validate(ComposeNode root)
    {
        string? error = Check(root, Schema.Value.RootElement, "", root.Mark, out SourceMark where);
        if (error is not null)
        {
            throw ComposeException.At(where, error);
        }
    }

    private static JsonElement Resolve(JsonElement schema)
    {
        while (schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("$ref", out JsonElement reference))
        {
            string path = reference.GetString() ?? "";
            JsonElement target = Schema.Value.RootElement;
            foreach (string part in path.TrimStart('#').Split('/', StringSplitOptions.RemoveEmptyEntries))
            {
                target = target.GetProperty(part);
            }

            schema = target;
        }

        return schema;
    }

    private static string Describe(string path) => path.Length == 0 ? "(root)" : path;

    private static string Child(string path, string key) => path.Length == 0 ? key : path + "." + key;

    /// <summary>Returns the first error (and where) or null when the node conforms.</summary>
    private static string? Check(ComposeNode node, JsonElement schema, string path, SourceMark mark, out SourceMark where)
    {
        where = mark;
        schema = Resolve(schema);
        if (schema.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        if (schema.TryGetProperty("type", out JsonElement type) && !TypeMatches(node, type))
        {
            return $"{Describe(path)} must be a {TypeNames(type)}";
        }

        foreach (string combinator in (string[])["oneOf", "anyOf"])
        {
            if (schema.TryGetProperty(combinator, out JsonElement options))
            {
                string? error = CheckAlternatives(node, options, path, mark, out where);
                if (error is not null)
                {
                    return error;
                }
            }
        }

        if (schema.TryGetProperty("enum", out JsonElement values) && node is ScalarNode scalar)
        {
            bool found = values.EnumerateArray().Any(v => v.ValueKind == JsonValueKind.String ? v.GetString() == scalar.Value : v.ToString() == scalar.Value);
            if (!found)
            {
                return $"{Describe(path)} must be one of the following: {string.Join(", ", values.EnumerateArray().Select(v => "\"" + v + "\""))}";
            }
        }

        if (node is MapNode map)
        {
            return CheckObject(map, schema, path, out where);
        }

        if (node is SeqNode seq && schema.TryGetProperty("items", out JsonElement items))
        {
            for (int i = 0; i < seq.Items.Count; i++)
            {
                string? error = Check(seq.Items[i], items, Child(path, i.ToString(System.Globalization.CultureInfo.InvariantCulture)), seq.Items[i].Mark, out where);
                if (error is not null)
                {
                    return error;
                }
            }
        }

        return null;
    }

    private static string? CheckAlternatives(ComposeNode node, JsonElement options, string path, SourceMark mark, out SourceMark where)
    {
        where = mark;
        string? firstError = null;
        SourceMark firstWhere = mark;
        var typeNames = new List<string>();
        foreach (JsonElement option in options.EnumerateArray())
        {
            JsonElement resolved = Resolve(option);
            bool typeFits = !resolved.TryGetProperty("type", out JsonElement t) || TypeMatches(node, t);
            if (resolved.TryGetProperty("type", out JsonElement t2))
            {
                typeNames.Add(TypeNames(t2));
            }

            string? error = Check(node, resolved, path, mark, out SourceMark w);
            if (error is null)
            {
                return null;
            }

            // Report the problem of the alternative whose type fits: it is the one the author meant.
            if (typeFits && firstError is null)
            {
                firstError = error;
                firstWhere = w;
            }
        }

        where = firstWhere;
        return firstError ?? $"{Describe(path)} must be a {string.Join(" or ", typeNames.Distinct())}";
    }

    private static string? CheckObject(MapNode map, JsonElement schema, string path, out SourceMark where)
    {
        where = map.Mark;
        schema.TryGetProperty("properties", out JsonElement properties);
        schema.TryGetProperty("patternProperties", out JsonElement patterns);
        bool hasAdditional = schema.TryGetProperty("additionalProperties", out JsonElement additional);
        foreach ((string key, ComposeNode value) in map.Entries)
        {
            SourceMark keyMark = map.MarkOfKey(key);
            string childPath = Child(path, key);
            if (properties.ValueKind == JsonValueKind.Object && properties.TryGetProperty(key, out JsonElement propertySchema))
            {
                string? error = Check(value, propertySchema, childPath, keyMark, out where);
                if (error is not null)
                {
                    return error;
                }

                continue;
            }

            bool matchedPattern = false;
            if (patterns.ValueKind == JsonValueKind.Object)
            {
                foreach (JsonProperty pattern in patterns.EnumerateObject())
                {
                    if (!PatternOf(pattern.Name).IsMatch(key))
                    {
                        continue;
                    }

                    matchedPattern = true;
                    string? error = Check(value, pattern.Value, childPath, keyMark, out where);
                    if (error is not null)
                    {
                        return error;
                    }
                }
            }

            if (matchedPattern)
            {
                continue;
            }

            if (hasAdditional && additional.ValueKind == JsonValueKind.False)
            {
                where = keyMark;
                return $"{Describe(path)} Additional property {key} is not allowed";
            }

            if (hasAdditional && additional.ValueKind == JsonValueKind.Object)
            {
                string? error = Check(value, additional, childPath, keyMark, out where);
                if (error is not null)
                {
                    return error;
                }
            }
        }

        if (schema.TryGetProperty("required", out JsonElement required))
        {
            foreach (JsonElement name in required.EnumerateArray())
            {
                if (!map.ContainsKey(name.GetString()!))
                {
                    where = map.Mark;
                    return $"{Child(path, name.GetString()!)} is required";
                }
            }
        }

        return null;
    }

    private static Regex PatternOf(string pattern)
    {
        lock (PatternsLock)
        {
            if (!Patterns.TryGetValue(pattern, out Regex? regex))
            {
                regex = new Regex(pattern, RegexOptions.CultureInvariant);
                Patterns[pattern] = regex;
            }

            return regex;
        }
    }

    private static bool TypeMatches(ComposeNode node, JsonElement type) =>
        type.ValueKind == JsonValueKind.Array
            ? type.EnumerateArray().Any(t => TypeMatches(node, t.GetString() ?? ""))
            : TypeMatches(node, type.GetString() ?? "");

    private static bool TypeMatches(ComposeNode node, string type) => (type, node) switch
    {
        ("object", MapNode) => true,
        ("array", SeqNode) => true,
        ("null", ScalarNode s) => s.IsNull,
        // Compose reads numbers and booleans written where a string is expected as their text.
        ("string", ScalarNode s) => !s.IsNull,
        ("integer", ScalarNode s) => s.Kind == ScalarKind.Integer,
        ("number", ScalarNode s) => s.Kind is ScalarKind.Integer or ScalarKind.Number,
        ("boolean", ScalarNode s) => s.Kind == ScalarKind.Bool,
        _ => false,
    };

    private static string TypeNames(JsonElement type) =>
        type.ValueKind == JsonValueKind.Array
            ? string.Join(" or ", type.EnumerateArray().Select(t => TypeName(t.GetString() ?? "")))
            : TypeName(type.GetString() ?? "");

    private static string TypeName(string type) => type switch
    {
        "array" => "list",
        "object" => "mapping",
        _ => type,
    };
}
