using System.Text.Json.Nodes;

namespace Berth.Monitor.Tests;

/// <summary>A minimal OCI bundle: a busybox rootfs and a config.json running <c>args</c> in fresh pid, mount, ipc and uts namespaces.</summary>
internal static class TestBundle
{
    private const string Busybox = "/bin/busybox";
    private static readonly string[] Applets = ["sh", "echo", "cat", "sleep", "printf", "true", "kill", "stty"];

    /// <summary>Gives the bundle's process a terminal (runc's <c>--console-socket</c>) and mounts /dev/pts for it.</summary>
    public static void UseTerminal(string bundle)
    {
        string path = Path.Combine(bundle, "config.json");
        JsonNode config = JsonNode.Parse(File.ReadAllText(path))!;
        config["process"]!["terminal"] = true;
        config["mounts"]!.AsArray().Add(new JsonObject
        {
            ["destination"] = "/dev/pts",
            ["type"] = "devpts",
            ["source"] = "devpts",
            ["options"] = new JsonArray("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"),
        });
        File.WriteAllText(path, config.ToJsonString());
    }

    public static void Write(string bundle, string id, IReadOnlyList<string> args)
    {
        string bin = Path.Combine(bundle, "rootfs", "bin");
        Directory.CreateDirectory(bin);
        File.Copy(Busybox, Path.Combine(bin, "busybox"));
        File.SetUnixFileMode(Path.Combine(bin, "busybox"), (UnixFileMode)0b111_101_101);
        foreach (string applet in Applets)
        {
            File.CreateSymbolicLink(Path.Combine(bin, applet), "busybox");
        }

        var config = new JsonObject
        {
            ["ociVersion"] = "1.0.2",
            ["process"] = new JsonObject
            {
                ["terminal"] = false,
                ["user"] = new JsonObject { ["uid"] = 0, ["gid"] = 0 },
                ["args"] = new JsonArray([.. args.Select(a => JsonValue.Create(a))]),
                ["env"] = new JsonArray("PATH=/bin"),
                ["cwd"] = "/",
                ["noNewPrivileges"] = true,
            },
            ["root"] = new JsonObject { ["path"] = "rootfs" },
            ["hostname"] = "berth-test",
            ["mounts"] = new JsonArray(
                new JsonObject { ["destination"] = "/proc", ["type"] = "proc", ["source"] = "proc" },
                new JsonObject
                {
                    ["destination"] = "/dev",
                    ["type"] = "tmpfs",
                    ["source"] = "tmpfs",
                    ["options"] = new JsonArray("nosuid", "strictatime", "mode=755", "size=65536k"),
                }),
            ["linux"] = new JsonObject
            {
                ["namespaces"] = new JsonArray(
                    new JsonObject { ["type"] = "pid" },
                    new JsonObject { ["type"] = "mount" },
                    new JsonObject { ["type"] = "ipc" },
                    new JsonObject { ["type"] = "uts" }),
                ["cgroupsPath"] = $"/berth-test/{id}",
            },
        };
        File.WriteAllText(Path.Combine(bundle, "config.json"), config.ToJsonString());
    }
}
