using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Berth.Cli.Templates;

/// <summary>
/// A value with named fields computed on demand, like the Go structs docker's formatters pass to
/// templates (<c>.ID</c>, <c>.RunningFor</c>, <c>.Label "k"</c>). <see cref="ToJson"/> is what <c>{{json .}}</c> prints.
/// </summary>
internal interface ITemplateObject
{
    /// <summary>The Go type name shown in errors (<c>*formatter.ContainerContext</c>).</summary>
    string TypeName { get; }

    bool TryGetField(string name, IReadOnlyList<object?> args, out object? value);

    JsonNode ToJson();
}

/// <summary>What a missing map key yields (Go prints it as <c>&lt;no value&gt;</c>).</summary>
internal sealed class NoValue
{
    public static readonly NoValue Instance = new();

    private NoValue()
    {
    }

    public override string ToString() => "<no value>";
}

/// <summary>
/// The value model of the template engine: null, string, bool, long, double, <see cref="JsonObject"/>,
/// <see cref="JsonArray"/>, <see cref="List{T}"/> of values, <see cref="ITemplateObject"/> and <see cref="NoValue"/>.
/// JSON leaves are unwrapped to the CLR primitives on access, so the data can be a parsed API answer
/// (AOT-safe: no reflection over CLR types).
/// </summary>
internal static class TemplateValues
{
    private static readonly JavaScriptEncoder RelaxedEncoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;

    /// <summary>Turns JSON leaves into CLR primitives; containers and other values pass through.</summary>
    public static object? Normalize(object? value) => value switch
    {
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => v.GetValue<string>(),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.Number => NumberOf(v),
            JsonValueKind.Null => null,
            _ => v.ToJsonString(),
        },
        JsonElement e => Normalize(JsonSerializerNodeFrom(e)),
        _ => value,
    };

    public static bool IsTrue(object? value) => Normalize(value) switch
    {
        null or NoValue => false,
        bool b => b,
        long l => l != 0,
        int i => i != 0,
        double d => d != 0,
        string s => s.Length > 0,
        JsonObject o => o.Count > 0,
        JsonArray a => a.Count > 0,
        System.Collections.ICollection c => c.Count > 0,
        _ => true,
    };

    /// <summary>Go's <c>fmt.Sprint</c> of one value (<c>%v</c>): maps as <c>map[k:v]</c>, slices as <c>[a b]</c>.</summary>
    public static string Print(object? value)
    {
        var sb = new StringBuilder();
        Print(sb, Normalize(value));
        return sb.ToString();
    }

    private static void Print(StringBuilder sb, object? value)
    {
        switch (value)
        {
            case null:
                sb.Append("<nil>");
                break;
            case string s:
                sb.Append(s);
                break;
            case bool b:
                sb.Append(b ? "true" : "false");
                break;
            case long or int:
                sb.Append(Convert.ToString(value, CultureInfo.InvariantCulture));
                break;
            case double d:
                sb.Append(FormatFloat(d));
                break;
            case JsonObject o:
                sb.Append("map[");
                bool first = true;
                foreach (KeyValuePair<string, JsonNode?> pair in o.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    if (!first)
                    {
                        sb.Append(' ');
                    }

                    first = false;
                    sb.Append(pair.Key).Append(':');
                    Print(sb, Normalize(pair.Value));
                }

                sb.Append(']');
                break;
            case JsonArray a:
                PrintList(sb, a.Select(n => (object?)n));
                break;
            case List<object?> list:
                PrintList(sb, list);
                break;
            case ITemplateObject t:
                sb.Append(ToJsonString(t.ToJson()));
                break;
            default:
                sb.Append(value.ToString());
                break;
        }
    }

    private static void PrintList(StringBuilder sb, IEnumerable<object?> items)
    {
        sb.Append('[');
        bool first = true;
        foreach (object? item in items)
        {
            if (!first)
            {
                sb.Append(' ');
            }

            first = false;
            Print(sb, Normalize(item));
        }

        sb.Append(']');
    }

    /// <summary>Go's <c>%v</c> for a float64: shortest form, exponent outside [1e-4, 1e21).</summary>
    public static string FormatFloat(double d)
    {
        if (double.IsNaN(d))
        {
            return "NaN";
        }

        if (double.IsInfinity(d))
        {
            return d > 0 ? "+Inf" : "-Inf";
        }

        double abs = Math.Abs(d);
        if (abs != 0 && (abs < 1e-4 || abs >= 1e21))
        {
            string r = d.ToString("R", CultureInfo.InvariantCulture);
            int ePos = r.IndexOf('E', StringComparison.Ordinal);
            if (ePos < 0)
            {
                return r;
            }

            string mantissa = r[..ePos];
            int exponent = int.Parse(r[(ePos + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            return mantissa + "e" + (exponent < 0 ? "-" : "+") + Math.Abs(exponent).ToString("00", CultureInfo.InvariantCulture);
        }

        return d.ToString("R", CultureInfo.InvariantCulture);
    }

    /// <summary>What docker's <c>json</c> template function prints: compact JSON without HTML escaping.</summary>
    public static string ToJson(object? value)
    {
        JsonNode? node = ToNode(Normalize(value));
        return node is null ? "null" : ToJsonString(node);
    }

    public static string ToJsonString(JsonNode node)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = RelaxedEncoder }))
        {
            node.WriteTo(writer);
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    public static JsonNode? ToNode(object? value) => value switch
    {
        null or NoValue => null,
        JsonNode n => n.DeepClone(),
        string s => JsonValue.Create(s),
        bool b => JsonValue.Create(b),
        long l => JsonValue.Create(l),
        int i => JsonValue.Create(i),
        double d => JsonValue.Create(d),
        ITemplateObject t => t.ToJson(),
        List<object?> list => new JsonArray(list.Select(ToNode).ToArray()),
        _ => JsonValue.Create(value.ToString()),
    };

    private static object NumberOf(JsonValue v)
    {
        if (v.TryGetValue(out long l))
        {
            return l;
        }

        if (v.TryGetValue(out JsonElement element))
        {
            if (element.TryGetInt64(out long fromElement))
            {
                return fromElement;
            }

            double d = element.GetDouble();
            return d == Math.Floor(d) && Math.Abs(d) < 9.2e18 ? (long)d : d;
        }

        if (v.TryGetValue(out int i))
        {
            return (long)i;
        }

        return v.TryGetValue(out double dbl) ? dbl : 0L;
    }

    private static JsonNode? JsonSerializerNodeFrom(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => JsonObject.Create(e),
        JsonValueKind.Array => JsonArray.Create(e),
        _ => JsonValue.Create(e),
    };
}
