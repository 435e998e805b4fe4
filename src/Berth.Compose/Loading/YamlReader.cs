using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Berth.Compose.Loading;

/// <summary>
/// Reads a compose file into the <see cref="ComposeNode"/> tree through YamlDotNet's representation model
/// (a plain parser: no reflection, so the NativeAOT CLI stays trim-safe). Anchors and aliases are resolved by
/// the parser; merge keys (<c>&lt;&lt;: *base</c>) are applied here, as YAML 1.1 defines them (explicit keys win,
/// earlier merged maps win over later ones).
/// </summary>
public static class YamlReader
{
    public static ComposeNode? Read(string text, string file)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            string message = e.InnerException is YamlException inner ? inner.Message : e.Message;
            throw ComposeException.At(new SourceMark(file, (int)e.Start.Line, (int)e.Start.Column), $"yaml: {StripMark(message)}");
        }

        if (stream.Documents.Count == 0)
        {
            return null;
        }

        if (stream.Documents.Count > 1)
        {
            throw ComposeException.At(new SourceMark(file, (int)stream.Documents[1].RootNode.Start.Line, 0), "yaml: multiple documents are not supported");
        }

        return Convert(stream.Documents[0].RootNode, file, []);
    }

    private static string StripMark(string message)
    {
        // YamlDotNet prefixes "(Line: 3, Col: 5, Idx: ..) - (...): "; we print our own mark.
        int at = message.IndexOf("): ", StringComparison.Ordinal);
        return message.StartsWith("(Line", StringComparison.Ordinal) && at > 0 ? message[(at + 3)..] : message;
    }

    private static SourceMark MarkOf(YamlNode node, string file) => new(file, (int)node.Start.Line, (int)node.Start.Column);

    private static ComposeNode Convert(YamlNode node, string file, HashSet<YamlNode> path)
    {
        if (!path.Add(node))
        {
            throw ComposeException.At(MarkOf(node, file), "yaml: an alias refers to the node that contains it");
        }

        try
        {
            ComposeNode result = node switch
            {
                YamlScalarNode scalar => ConvertScalar(scalar, file),
                YamlSequenceNode seq => ConvertSequence(seq, file, path),
                YamlMappingNode map => ConvertMapping(map, file, path),
                _ => throw ComposeException.At(MarkOf(node, file), "yaml: unsupported node"),
            };
            result.Tag = node.Tag.IsEmpty ? MergeTag.None : node.Tag.Value switch
            {
                "!reset" => MergeTag.Reset,
                "!override" => MergeTag.Override,
                _ => MergeTag.None,
            };
            return result;
        }
        finally
        {
            path.Remove(node);
        }
    }

    private static ScalarNode ConvertScalar(YamlScalarNode scalar, string file)
    {
        bool plain = scalar.Style is ScalarStyle.Plain or ScalarStyle.Any;
        string? value = scalar.Value;
        if (plain && value is null or "" or "~" or "null" or "Null" or "NULL")
        {
            value = null;
        }

        return new ScalarNode(value, MarkOf(scalar, file), quoted: !plain);
    }

    private static SeqNode ConvertSequence(YamlSequenceNode seq, string file, HashSet<YamlNode> path)
    {
        var result = new SeqNode(MarkOf(seq, file));
        foreach (YamlNode child in seq.Children)
        {
            result.Items.Add(Convert(child, file, path));
        }

        return result;
    }

    private static MapNode ConvertMapping(YamlMappingNode map, string file, HashSet<YamlNode> path)
    {
        var result = new MapNode(MarkOf(map, file));
        var merged = new List<MapNode>();
        foreach ((YamlNode keyNode, YamlNode valueNode) in map.Children)
        {
            if (keyNode is not YamlScalarNode { Value: { } key })
            {
                throw ComposeException.At(MarkOf(keyNode, file), "yaml: mapping keys must be strings");
            }

            if (key == "<<" && keyNode is YamlScalarNode { Style: ScalarStyle.Plain })
            {
                ComposeNode source = Convert(valueNode, file, path);
                IEnumerable<ComposeNode> sources = source is SeqNode list ? list.Items : [source];
                foreach (ComposeNode s in sources)
                {
                    merged.Add(s as MapNode ?? throw ComposeException.At(s.Mark, "yaml: map merge requires map or sequence of maps as the value"));
                }

                continue;
            }

            if (result.ContainsKey(key))
            {
                throw ComposeException.At(MarkOf(keyNode, file), $"yaml: mapping key \"{key}\" already defined");
            }

            result[key] = Convert(valueNode, file, path);
            result.KeyMarks[key] = MarkOf(keyNode, file);
        }

        foreach (MapNode source in merged)
        {
            foreach ((string key, ComposeNode value) in source.Entries)
            {
                if (!result.ContainsKey(key))
                {
                    result[key] = value.Clone();
                    result.KeyMarks[key] = source.MarkOfKey(key);
                }
            }
        }

        return result;
    }
}
