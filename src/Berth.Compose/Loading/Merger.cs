namespace Berth.Compose.Loading;

/// <summary>
/// Merges one compose tree over another per the specification's "Merge and override" rules: mappings merge
/// key by key, sequences append, scalars are replaced; <c>command</c>, <c>entrypoint</c> and
/// <c>healthcheck.test</c> are replaced; <c>ports</c>, <c>volumes</c>, <c>secrets</c> and <c>configs</c> merge
/// entries that share their unique key; <c>!reset</c> removes a value and <c>!override</c> replaces it whole.
/// Both trees must be normalised first (<see cref="Normalizer"/>), so a list-form environment merges with a map.
/// </summary>
public static class Merger
{
    /// <summary>Merges <paramref name="over"/> into <paramref name="base"/> (which is changed) and returns the result.</summary>
    public static ComposeNode Merge(ComposeNode? @base, ComposeNode over, string path = "")
    {
        if (over.Tag == MergeTag.Override || @base is null)
        {
            over.Tag = MergeTag.None;
            return over;
        }

        if (@base is MapNode baseMap && over is MapNode overMap)
        {
            foreach ((string key, ComposeNode value) in overMap.Entries)
            {
                string childPath = path.Length == 0 ? key : path + "." + key;
                if (value.Tag == MergeTag.Reset)
                {
                    baseMap.Remove(key);
                    continue;
                }

                ComposeNode? existing = baseMap[key];
                baseMap[key] = existing is null || value.Tag == MergeTag.Override || Replaced(childPath)
                    ? Untag(value)
                    : Merge(existing, value, childPath);
                baseMap.KeyMarks[key] = overMap.MarkOfKey(key);
            }

            return baseMap;
        }

        if (@base is SeqNode baseSeq && over is SeqNode overSeq)
        {
            Func<ComposeNode, string?>? unique = UniqueKey(path);
            if (unique is null)
            {
                foreach (ComposeNode item in overSeq.Items)
                {
                    if (!IsSetLike(path) || !baseSeq.Items.Exists(i => SameScalar(i, item)))
                    {
                        baseSeq.Items.Add(item);
                    }
                }

                return baseSeq;
            }

            foreach (ComposeNode item in overSeq.Items)
            {
                string? key = unique(item);
                int at = key is null ? -1 : baseSeq.Items.FindIndex(i => unique(i) == key);
                if (at >= 0)
                {
                    baseSeq.Items[at] = item;
                }
                else
                {
                    baseSeq.Items.Add(item);
                }
            }

            return baseSeq;
        }

        return over;
    }

    private static ComposeNode Untag(ComposeNode node)
    {
        node.Tag = MergeTag.None;
        return node;
    }

    private static bool SameScalar(ComposeNode a, ComposeNode b) => a is ScalarNode x && b is ScalarNode y && x.Value == y.Value;

    /// <summary>Service attributes whose value a later file replaces rather than merges.</summary>
    private static bool Replaced(string path)
    {
        string[] parts = path.Split('.');
        if (parts.Length == 3 && parts[0] == "services")
        {
            return parts[2] is "command" or "entrypoint";
        }

        return parts.Length == 4 && parts[0] == "services" && parts[2] == "healthcheck" && parts[3] == "test";
    }

    /// <summary>Lists of plain values where a repeated value is kept once (dns, cap_add, profiles...).</summary>
    private static bool IsSetLike(string path)
    {
        string[] parts = path.Split('.');
        return parts.Length == 3 && parts[0] == "services" &&
               parts[2] is "cap_add" or "cap_drop" or "dns" or "dns_search" or "dns_opt" or "expose" or "profiles" or "env_file" or "security_opt" or "tmpfs" or "links" or "external_links" or "volumes_from" or "group_add";
    }

    private static Func<ComposeNode, string?>? UniqueKey(string path)
    {
        string[] parts = path.Split('.');
        if (parts.Length != 3 || parts[0] != "services")
        {
            return null;
        }

        return parts[2] switch
        {
            "volumes" => VolumeTarget,
            "secrets" or "configs" => SecretTarget,
            "ports" => PortKey,
            _ => null,
        };
    }

    internal static string? VolumeTarget(ComposeNode node) => node switch
    {
        ScalarNode { Value: { } text } => ServiceVolume.ParseShort(text).Target,
        MapNode map => (map["target"] as ScalarNode)?.Value,
        _ => null,
    };

    private static string? SecretTarget(ComposeNode node) => node switch
    {
        ScalarNode { Value: { } name } => name,
        MapNode map => (map["target"] as ScalarNode)?.Value ?? (map["source"] as ScalarNode)?.Value,
        _ => null,
    };

    private static string? PortKey(ComposeNode node)
    {
        try
        {
            return string.Join("|", ServicePort.Parse(node).Select(p => $"{p.HostIp}/{p.Target}/{p.Published}/{p.Protocol}"));
        }
        catch (ComposeException)
        {
            return null;
        }
    }
}
