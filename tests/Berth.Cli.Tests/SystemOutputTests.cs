using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Berth.Cli.Commands;

namespace Berth.Cli.Tests;

public class SystemOutputTests
{
    private static JsonObject Client() => new()
    {
        ["Platform"] = new JsonObject { ["Name"] = "" },
        ["Version"] = "0.1.0",
        ["ApiVersion"] = "1.47",
        ["DefaultAPIVersion"] = "1.50",
        ["GitCommit"] = "abc1234",
        ["GoVersion"] = ".NET 10.0.0",
        ["Os"] = "linux",
        ["Arch"] = "amd64",
        ["BuildTime"] = "Wed Feb 26 10:41:08 2025",
        ["Context"] = "default",
    };

    [Fact]
    public void Version_output_matches_docker_layout()
    {
        var server = (JsonObject)JsonNode.Parse("""
            {"Platform":{"Name":"Berth Engine"},"Version":"0.1.0","ApiVersion":"1.50","MinAPIVersion":"1.24","GitCommit":"def5678",
             "GoVersion":".NET 10.0.0","Os":"linux","Arch":"amd64","BuildTime":"2025-02-26T10:41:08.000000000Z",
             "Components":[{"Name":"runc","Version":"1.1.12","Details":{"GitCommit":"v1.1.12-0-g51d5e94"}}]}
            """)!;
        SystemCommands.AddEngineComponent(server, TimeZoneInfo.Utc);
        string output = SystemCommands.RenderVersion(SystemCommands.VersionFormat(null), Client(), server);
        Assert.Equal(
            """
            Client:
             Version:           0.1.0
             API version:       1.47 (downgraded from 1.50)
             Go version:        .NET 10.0.0
             Git commit:        abc1234
             Built:             Wed Feb 26 10:41:08 2025
             OS/Arch:           linux/amd64
             Context:           default

            Server: Berth Engine
             runc:
              Version:          1.1.12
              GitCommit:        v1.1.12-0-g51d5e94
             Engine:
              Version:          0.1.0
              API version:      1.50 (minimum version 1.24)
              Go version:       .NET 10.0.0
              Git commit:       def5678
              Built:            Wed Feb 26 10:41:08 2025
              OS/Arch:          linux/amd64
              Experimental:     false

            """.Replace("\r\n", "\n", StringComparison.Ordinal),
            output);
    }

    [Fact]
    public void Version_without_server_prints_the_client_only()
    {
        string output = SystemCommands.RenderVersion(SystemCommands.VersionFormat(null), Client(), null);
        Assert.StartsWith("Client:\n Version:           0.1.0\n", output);
        Assert.DoesNotContain("Server", output);
    }

    [Fact]
    public void Version_format_reads_go_field_names()
    {
        string output = SystemCommands.RenderVersion(SystemCommands.VersionFormat("{{.Client.APIVersion}}"), Client(), null);
        Assert.Equal("1.47\n", output);
    }

    [Fact]
    public void Info_output_matches_docker_layout_and_tolerates_missing_fields()
    {
        using JsonDocument doc = JsonDocument.Parse("""
            {"Containers":3,"ContainersRunning":1,"ContainersPaused":0,"ContainersStopped":2,"Images":1,"ServerVersion":"0.1.0",
             "Driver":"overlay2","DriverStatus":[["Backing Filesystem","extfs"]],"LoggingDriver":"json-file","CgroupDriver":"cgroupfs",
             "CgroupVersion":"1","Plugins":{"Volume":["local"],"Network":["bridge","host"],"Log":["json-file"]},
             "Swarm":{"LocalNodeState":"inactive"},"Runtimes":{"runc":{"path":"runc"}},"DefaultRuntime":"runc","OSType":"linux",
             "InitBinary":"","ContainerdCommit":{"ID":""},"RuncCommit":{"ID":"v1.1.12"},"InitCommit":{"ID":""},
             "SecurityOptions":["name=seccomp,profile=builtin"],"KernelVersion":"6.1.0","OperatingSystem":"Debian GNU/Linux 12",
             "Architecture":"x86_64","NCPU":2,"MemTotal":25769803776,"Name":"host","ID":"abc","DockerRootDir":"/var/lib/berth",
             "RegistryConfig":{"InsecureRegistryCIDRs":["127.0.0.0/8"]}}
            """);
        var sb = new StringBuilder();
        SystemCommands.AppendServerInfo(sb, new SystemCommands.InfoReader(doc.RootElement), clientDebug: false);
        Assert.Equal(
            """
             Containers: 3
              Running: 1
              Paused: 0
              Stopped: 2
             Images: 1
             Server Version: 0.1.0
             Storage Driver: overlay2
              Backing Filesystem: extfs
             Logging Driver: json-file
             Cgroup Driver: cgroupfs
             Cgroup Version: 1
             Plugins:
              Volume: local
              Network: bridge host
              Log: json-file
             Swarm: inactive
             Runtimes: runc
             Default Runtime: runc
             Init Binary: 
             containerd version: 
             runc version: v1.1.12
             init version: 
             Security Options:
              seccomp
               Profile: builtin
             Kernel Version: 6.1.0
             Operating System: Debian GNU/Linux 12
             OSType: linux
             Architecture: x86_64
             CPUs: 2
             Total Memory: 24GiB
             Name: host
             ID: abc
             Docker Root Dir: /var/lib/berth
             Debug Mode: false
             Experimental: false
             Insecure Registries:
              127.0.0.0/8
             Live Restore Enabled: false


            """.Replace("\r\n", "\n", StringComparison.Ordinal),
            sb.ToString());
    }
}

public class LifecycleOutputTests
{
    [Fact]
    public void Event_lines_are_dockers()
    {
        var message = new Berth.Api.Types.EventMessage
        {
            Type = "container",
            Action = "start",
            Actor = new Berth.Api.Types.EventActor { ID = "abc", Attributes = new() { ["name"] = "x", ["image"] = "busybox" } },
            Time = 1_795_957_200,
            TimeNano = 1_795_957_200_123_456_789,
        };

        Assert.Equal("2026-11-29T13:00:00.123456789Z container start abc (image=busybox, name=x)", LifecycleCommands.EventText(message, TimeZoneInfo.Utc));
    }

    [Fact]
    public void Disk_usage_summary_computes_reclaimable_as_docker()
    {
        var usage = new Berth.Api.Types.SystemDataUsage
        {
            LayersSize = 4_000_000,
            Images = [new() { Id = "sha256:a", Size = 3_000_000, SharedSize = 1_000_000, Containers = 1 }, new() { Id = "sha256:b", Size = 2_000_000, SharedSize = 1_000_000, Containers = 0 }],
            Containers = [new() { Id = "c1", State = "running", SizeRw = 1000 }, new() { Id = "c2", State = "exited", SizeRw = 3000 }],
        };

        string table = Berth.Cli.ListFormat.Render(DiskUsageRow.DefaultTable, DiskUsageRow.Summaries(usage), DiskUsageRow.Header);

        Assert.Equal(
            "TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE\n"
            + "Images          2         1         4MB       2MB (50%)\n"
            + "Containers      2         1         4kB       3kB (75%)\n"
            + "Local Volumes   0         0         0B        0B\n"
            + "Build Cache     0         0         0B        0B\n",
            table);
    }
}
