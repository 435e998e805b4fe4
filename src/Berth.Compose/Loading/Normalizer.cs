namespace Berth.Compose.Loading;

/// <summary>
/// Rewrites one validated file into the single canonical shape the merge and the engine expect: list-or-map
/// attributes become maps (<c>environment</c>, <c>labels</c>, <c>build.args</c>, <c>extra_hosts</c>,
/// <c>sysctls</c>), <c>depends_on</c> and service <c>networks</c> lists become maps, string-or-list attributes
/// become lists, <c>build: DIR</c> becomes <c>build: {context: DIR}</c>, and relative host paths become absolute
/// against the file's base directory, so files merged from elsewhere (extends, include) keep their meaning.
/// </summary>
public static class Normalizer
{
    private static readonly string[] ListOrDict = ["environment", "labels", "annotations", "sysctls", "extra_hosts"];
    private static readonly string[] StringOrList = ["dns", "dns_search", "dns_opt", "env_file", "tmpfs", "label_file"];

    public static void Normalize(MapNode root, string baseDir, List<string> warnings)
    {
        if (root.Remove("version"))
        {
            warnings.Add("the attribute `version` is obsolete, it will be ignored, please remove it to avoid potential confusion");
        }

        DropExtensions(root);
        if (root["services"] is MapNode services)
        {
            foreach ((string name, ComposeNode node) in services.Entries.ToList())
            {
                if (node is not MapNode service)
                {
                    services[name] = new MapNode(node.Mark);
                    continue;
                }

                NormalizeService(service, baseDir);
            }
        }

        foreach (string section in (string[])["networks", "volumes", "secrets", "configs"])
        {
            if (root[section] is not MapNode resources)
            {
                continue;
            }

            foreach ((string name, ComposeNode node) in resources.Entries.ToList())
            {
                if (node is not MapNode resource)
                {
                    resources[name] = new MapNode(node.Mark);
                    continue;
                }

                foreach (string key in (string[])["labels", "driver_opts"])
                {
                    ToMap(resource, key, '=');
                }

                if (resource["file"] is ScalarNode { Value: { } file } fileNode)
                {
                    fileNode.Value = AbsolutePath(file, baseDir);
                }
            }
        }
    }

    private static void DropExtensions(MapNode map)
    {
        foreach (string key in map.Keys.Where(k => k.StartsWith("x-", StringComparison.Ordinal)).ToList())
        {
            map.Remove(key);
        }

        foreach ((_, ComposeNode value) in map.Entries)
        {
            if (value is MapNode child)
            {
                DropExtensions(child);
            }
            else if (value is SeqNode seq)
            {
                foreach (MapNode item in seq.Items.OfType<MapNode>())
                {
                    DropExtensions(item);
                }
            }
        }
    }

    private static void NormalizeService(MapNode service, string baseDir)
    {
        foreach (string key in ListOrDict)
        {
            ToMap(service, key, key == "extra_hosts" ? ':' : '=');
        }

        foreach (string key in StringOrList)
        {
            if (service[key] is ScalarNode { IsNull: false } single)
            {
                var list = new SeqNode(single.Mark);
                list.Items.Add(single);
                service[key] = list;
            }
        }

        if (service["build"] is ScalarNode { Value: { } context } buildText)
        {
            var build = new MapNode(buildText.Mark);
            build["context"] = new ScalarNode(context, buildText.Mark);
            service["build"] = build;
        }

        if (service["build"] is MapNode buildMap)
        {
            ToMap(buildMap, "args", '=');
            ToMap(buildMap, "labels", '=');
            if (buildMap["context"] is ScalarNode { Value: { } ctx } ctxNode && !ctx.Contains("://", StringComparison.Ordinal))
            {
                ctxNode.Value = AbsolutePath(ctx, baseDir);
            }
            else if (buildMap["context"] is null)
            {
                buildMap["context"] = new ScalarNode(baseDir, buildMap.Mark);
            }
        }

        if (service["depends_on"] is SeqNode dependsList)
        {
            var map = new MapNode(dependsList.Mark);
            foreach (ScalarNode item in dependsList.Items.OfType<ScalarNode>())
            {
                var condition = new MapNode(item.Mark);
                condition["condition"] = new ScalarNode("service_started", item.Mark);
                condition["required"] = new ScalarNode("true", item.Mark);
                map[item.Value ?? ""] = condition;
                map.KeyMarks[item.Value ?? ""] = item.Mark;
            }

            service["depends_on"] = map;
        }

        if (service["networks"] is SeqNode networkList)
        {
            var map = new MapNode(networkList.Mark);
            foreach (ScalarNode item in networkList.Items.OfType<ScalarNode>())
            {
                map[item.Value ?? ""] = new ScalarNode(null, item.Mark);
                map.KeyMarks[item.Value ?? ""] = item.Mark;
            }

            service["networks"] = map;
        }

        if (service["env_file"] is SeqNode envFiles)
        {
            foreach (ComposeNode item in envFiles.Items)
            {
                ScalarNode? path = item is MapNode m ? m["path"] as ScalarNode : item as ScalarNode;
                if (path is { Value: { } p })
                {
                    path.Value = AbsolutePath(p, baseDir);
                }
            }
        }

        if (service["volumes"] is SeqNode volumes)
        {
            foreach (ComposeNode item in volumes.Items)
            {
                if (item is ScalarNode { Value: { } text } scalar)
                {
                    int colon = text.IndexOf(':', StringComparison.Ordinal);
                    if (colon > 0 && text[0] is '.' or '~')
                    {
                        scalar.Value = AbsolutePath(text[..colon], baseDir) + text[colon..];
                    }
                }
                else if (item is MapNode { } map && ServicePort.Text(map["type"]) == "bind" && map["source"] is ScalarNode { Value: { } source } sourceNode)
                {
                    sourceNode.Value = AbsolutePath(source, baseDir);
                }
            }
        }

        if (service["extends"] is ScalarNode { Value: { } extended } extendsText)
        {
            var map = new MapNode(extendsText.Mark);
            map["service"] = new ScalarNode(extended, extendsText.Mark);
            service["extends"] = map;
        }

        if (service["extends"] is MapNode extendsMap && extendsMap["file"] is ScalarNode { Value: { } extendsFile } extendsFileNode)
        {
            extendsFileNode.Value = AbsolutePath(extendsFile, baseDir);
        }
    }

    /// <summary>Turns a <c>["K=V", "K2"]</c> list into <c>{K: V, K2: null}</c> (a bare name keeps a null value).</summary>
    private static void ToMap(MapNode parent, string key, char separator)
    {
        if (parent[key] is not SeqNode list)
        {
            return;
        }

        var map = new MapNode(list.Mark);
        foreach (ScalarNode item in list.Items.OfType<ScalarNode>())
        {
            string text = item.Value ?? "";
            int at = text.IndexOf('=', StringComparison.Ordinal);
            if (at < 0 && separator == ':')
            {
                at = text.IndexOf(':', StringComparison.Ordinal);
            }

            string name = at < 0 ? text : text[..at];
            map[name] = new ScalarNode(at < 0 ? null : text[(at + 1)..], item.Mark, quoted: true);
            map.KeyMarks[name] = item.Mark;
        }

        parent[key] = map;
    }

    public static string AbsolutePath(string path, string baseDir)
    {
        if (path.StartsWith('~'))
        {
            string home = Environment.GetEnvironmentVariable("HOME") ?? "/root";
            path = home + path[1..];
        }

        return Path.GetFullPath(Path.IsPathRooted(path) ? path : Path.Combine(baseDir, path));
    }
}
