using Berth.Compose;
using Berth.Compose.Loading;

namespace Berth.UnitTests.Compose;

public class MergeAndExtendsTests
{
    [Fact]
    public void Later_files_merge_maps_append_lists_and_replace_commands()
    {
        using var files = new ComposeTestFiles();
        files.Write("compose.yaml", """
            services:
              web:
                image: busybox
                command: ["echo", "base"]
                environment: [A=1, B=2]
                dns: [1.1.1.1]
                labels: {keep: "yes"}
            """);
        files.Write("override.yaml", """
            services:
              web:
                command: echo override
                environment:
                  B: "3"
                  C: "4"
                dns: [8.8.8.8, 1.1.1.1]
              extra:
                image: busybox
            """);

        ComposeProject p = files.Load("compose.yaml", "override.yaml");
        MapNode web = p.Service("web").Definition;

        Assert.Equal("echo override", web["command"].AsText());
        var env = (MapNode)web["environment"]!;
        Assert.Equal(["A", "B", "C"], env.Keys);
        Assert.Equal("3", env["B"].AsText());
        Assert.Equal(["1.1.1.1", "8.8.8.8"], ((SeqNode)web["dns"]!).Items.Select(i => i.AsText()));
        Assert.Equal("yes", ((MapNode)web["labels"]!)["keep"].AsText());
        Assert.Equal(["web", "extra"], p.Services.Select(s => s.Name));
    }

    [Fact]
    public void Ports_and_volumes_merge_on_their_unique_keys()
    {
        using var files = new ComposeTestFiles();
        files.Write("a.yaml", """
            services:
              web:
                image: busybox
                ports: ["8080:80", "9000:9000"]
                volumes: ["foo:/work", "/tmp:/tmp"]
            volumes: {foo: {}, bar: {}}
            """);
        files.Write("b.yaml", """
            services:
              web:
                ports: ["8080:80", "7000:7000"]
                volumes: ["bar:/work"]
            """);

        MapNode web = files.Load("a.yaml", "b.yaml").Service("web").Definition;

        Assert.Equal(["8080:80", "9000:9000", "7000:7000"], ((SeqNode)web["ports"]!).Items.Select(i => i.AsText()));
        Assert.Equal(["bar:/work", "/tmp:/tmp"], ((SeqNode)web["volumes"]!).Items.Select(i => i.AsText()));
    }

    [Fact]
    public void Reset_removes_and_override_replaces()
    {
        using var files = new ComposeTestFiles();
        files.Write("a.yaml", """
            services:
              app:
                image: myapp
                ports: ["8080:80"]
                environment:
                  FOO: BAR
                  KEEP: "1"
                dns: [1.1.1.1]
            """);
        files.Write("b.yaml", """
            services:
              app:
                ports: !reset []
                environment:
                  FOO: !reset null
                dns: !override [9.9.9.9]
            """);

        MapNode app = files.Load("a.yaml", "b.yaml").Service("app").Definition;

        Assert.False(app.ContainsKey("ports"));
        Assert.Equal(["KEEP"], ((MapNode)app["environment"]!).Keys);
        Assert.Equal(["9.9.9.9"], ((SeqNode)app["dns"]!).Items.Select(i => i.AsText()));
    }

    [Fact]
    public void Extends_merges_the_base_service_under_the_extending_one_also_from_another_file()
    {
        using var files = new ComposeTestFiles();
        files.Write("common/base.yaml", """
            services:
              base:
                image: busybox
                environment: {FROM: base, LEVEL: "0"}
                volumes: ["./data:/data"]
            """);
        files.Write("compose.yaml", """
            services:
              middle:
                extends:
                  file: common/base.yaml
                  service: base
                environment: {LEVEL: "1"}
              top:
                extends: middle
                command: sleep 1
                environment: {LEVEL: "2"}
            """);

        ComposeProject p = files.Load();
        MapNode top = p.Service("top").Definition;

        Assert.Equal("busybox", top["image"].AsText());
        Assert.Equal("sleep 1", top["command"].AsText());
        Assert.Equal("2", ((MapNode)top["environment"]!)["LEVEL"].AsText());
        Assert.Equal("base", ((MapNode)top["environment"]!)["FROM"].AsText());
        Assert.Equal("1", ((MapNode)p.Service("middle").Definition["environment"]!)["LEVEL"].AsText());
        Assert.False(top.ContainsKey("extends"));
        // The base file's relative path stays relative to the base file.
        Assert.Equal(Path.Combine(files.Dir, "common", "data") + ":/data", ((SeqNode)top["volumes"]!).Items[0].AsText());
    }

    [Fact]
    public void Extends_cycles_and_missing_bases_fail()
    {
        using var files = new ComposeTestFiles();
        files.Write("cycle.yaml", "services:\n  a: {extends: b, image: x}\n  b: {extends: a}\n");
        files.Write("missing.yaml", "services:\n  a:\n    extends: nothere\n");

        Assert.Contains("circular reference", files.Fails("cycle.yaml").Message, StringComparison.Ordinal);
        Assert.Equal("missing.yaml:3: cannot extend service \"a\": service \"nothere\" not found", files.Fails("missing.yaml").Message);
    }

    [Fact]
    public void Include_brings_in_another_project_with_its_own_directory_and_refuses_conflicts()
    {
        using var files = new ComposeTestFiles();
        files.Write("db/compose.yaml", """
            services:
              db:
                image: busybox
                env_file: db.env
            volumes:
              dbdata:
            """);
        files.Write("compose.yaml", """
            include:
              - db/compose.yaml
            services:
              web:
                image: busybox
                depends_on: [db]
            """);
        files.Write("conflict.yaml", """
            include:
              - path: [db/compose.yaml]
            services:
              db:
                image: busybox
            """);

        ComposeProject p = files.Load();

        Assert.Equal(["web", "db"], p.Services.Select(s => s.Name).Order(StringComparer.Ordinal).Reverse());
        Assert.True(p.Volumes.ContainsKey("dbdata"));
        Assert.Equal(Path.Combine(files.Dir, "db", "db.env"), ((SeqNode)p.Service("db").Definition["env_file"]!).Items[0].AsText());
        Assert.Equal("conflict.yaml:4: services.db conflicts with imported resource", files.Fails("conflict.yaml").Message);
    }
}
