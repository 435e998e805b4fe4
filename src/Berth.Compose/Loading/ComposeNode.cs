using System.Globalization;

namespace Berth.Compose.Loading;

/// <summary>Where a node came from, for error messages (<c>compose.yaml:7</c>).</summary>
public readonly record struct SourceMark(string File, int Line, int Column)
{
    public override string ToString() => Line > 0 ? $"{Path.GetFileName(File)}:{Line}" : Path.GetFileName(File);
}

/// <summary>
/// The compose document as a tree that remembers where each value was written. Interpolation, merge, extends
/// and validation all work on this tree, so an error found after several files were merged still names the
/// file and line the offending value came from.
/// </summary>
public abstract class ComposeNode
{
    protected ComposeNode(SourceMark mark) => Mark = mark;

    public SourceMark Mark { get; }

    /// <summary>The merge tag written on the node (<c>!reset</c>, <c>!override</c>), consumed by the merge of several files.</summary>
    public MergeTag Tag { get; set; }

    /// <summary>A deep copy (merge and extends must not alias subtrees shared through YAML anchors).</summary>
    public abstract ComposeNode Clone();
}

/// <summary>A scalar: its text (null for YAML null) and whether it was quoted (quoted text is always a string).</summary>
public sealed class ScalarNode(string? value, SourceMark mark, bool quoted = false) : ComposeNode(mark)
{
    public string? Value { get; set; } = value;

    public bool Quoted { get; } = quoted;

    public bool IsNull => Value is null;

    public override ComposeNode Clone() => new ScalarNode(Value, Mark, Quoted) { Tag = Tag };

    /// <summary>The YAML type of a plain scalar (core schema plus YAML 1.1's yes/no kin compose files still use).</summary>
    public ScalarKind Kind
    {
        get
        {
            if (Value is null)
            {
                return ScalarKind.Null;
            }

            if (Quoted)
            {
                return ScalarKind.String;
            }

            if (Value is "true" or "True" or "TRUE" or "false" or "False" or "FALSE")
            {
                return ScalarKind.Bool;
            }

            if (long.TryParse(Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _))
            {
                return ScalarKind.Integer;
            }

            return double.TryParse(Value, NumberStyles.Float, CultureInfo.InvariantCulture, out _) && Value.Any(char.IsDigit)
                ? ScalarKind.Number
                : ScalarKind.String;
        }
    }
}

public enum MergeTag
{
    None,
    Reset,
    Override,
}

public enum ScalarKind
{
    Null,
    String,
    Bool,
    Integer,
    Number,
}

/// <summary>A sequence.</summary>
public sealed class SeqNode(SourceMark mark) : ComposeNode(mark)
{
    public List<ComposeNode> Items { get; } = [];

    public override ComposeNode Clone()
    {
        var copy = new SeqNode(Mark) { Tag = Tag };
        copy.Items.AddRange(Items.Select(i => i.Clone()));
        return copy;
    }
}

/// <summary>A mapping with string keys, in document order.</summary>
public sealed class MapNode(SourceMark mark) : ComposeNode(mark)
{
    private readonly List<KeyValuePair<string, ComposeNode>> _entries = [];

    /// <summary>Where each key was written (errors about a key or its value point at the key's line).</summary>
    public Dictionary<string, SourceMark> KeyMarks { get; } = new(StringComparer.Ordinal);

    public SourceMark MarkOfKey(string key) => KeyMarks.TryGetValue(key, out SourceMark mark) ? mark : this[key]?.Mark ?? Mark;

    public IReadOnlyList<KeyValuePair<string, ComposeNode>> Entries => _entries;

    public IEnumerable<string> Keys => _entries.Select(e => e.Key);

    public int Count => _entries.Count;

    public ComposeNode? this[string key]
    {
        get
        {
            foreach (KeyValuePair<string, ComposeNode> e in _entries)
            {
                if (e.Key == key)
                {
                    return e.Value;
                }
            }

            return null;
        }
        set
        {
            int i = _entries.FindIndex(e => e.Key == key);
            if (value is null)
            {
                if (i >= 0)
                {
                    _entries.RemoveAt(i);
                }
            }
            else if (i >= 0)
            {
                _entries[i] = new(key, value);
            }
            else
            {
                _entries.Add(new(key, value));
            }
        }
    }

    public bool ContainsKey(string key) => _entries.Exists(e => e.Key == key);

    public bool Remove(string key)
    {
        int i = _entries.FindIndex(e => e.Key == key);
        if (i < 0)
        {
            return false;
        }

        _entries.RemoveAt(i);
        return true;
    }

    public override ComposeNode Clone()
    {
        var copy = new MapNode(Mark) { Tag = Tag };
        foreach ((string k, SourceMark m) in KeyMarks)
        {
            copy.KeyMarks[k] = m;
        }

        foreach ((string key, ComposeNode value) in _entries)
        {
            copy._entries.Add(new(key, value.Clone()));
        }

        return copy;
    }
}

public static class ComposeNodeExtensions
{
    /// <summary>The text of a scalar node; null for a missing node, a YAML null, a mapping or a sequence.</summary>
    public static string? AsText(this ComposeNode? node) => (node as ScalarNode)?.Value;
}

/// <summary>A compose file problem; the message already names the file and line (<c>compose.yaml:7: ...</c>).</summary>
public sealed class ComposeException(string message) : Exception(message)
{
    public static ComposeException At(SourceMark mark, string message) => new($"{mark}: {message}");
}
