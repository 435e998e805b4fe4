using Berth.Compose;
using Berth.Compose.Loading;

namespace Berth.UnitTests.Compose;

public class ComposeLoaderTests
{
    [Fact]
    public void A_minimal_file_gives_the_project_its_directory_name_and_a_default_network()
    {
        using var files = new ComposeTestFiles("My_App.v2");
        files.Write("compose.yaml", "services:\n  web:\n    image: busybox\n");

        ComposeProject project = files.Load();

        Assert.Equal("my_appv2", project.Name);
        Assert.Equal("web", Assert.Single(project.Services).Name);
        Assert.True(project.Networks.ContainsKey("default"));
        Assert.Equal("my_appv2_default", project.NetworkName("default"));
        Assert.Equal(files.Dir, project.WorkingDirectory);
    }

    [Fact]
    public void Name_key_COMPOSE_PROJECT_NAME_and_the_flag_take_precedence_in_that_order()
    {
        using var files = new ComposeTestFiles();
        files.Write("compose.yaml", "name: fromfile\nservices:\n  a:\n    image: busybox\n");

        Assert.Equal("fromfile", files.Load().Name);
        files.Environment["COMPOSE_PROJECT_NAME"] = "fromenv";
        Assert.Equal("fromenv", files.Load().Name);
        Assert.Equal("fromflag", files.Load(new ComposeOptions { ProjectName = "fromflag" }).Name);
        ComposeException bad = Assert.Throws<ComposeException>(() => files.Load(new ComposeOptions { ProjectName = "Bad Name" }));
        Assert.Contains("invalid project name", bad.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_obsolete_version_key_is_accepted_with_a_warning_and_extensions_are_ignored()
    {
        using var files = new ComposeTestFiles();
        files.Write("compose.yaml", """
            version: "3.8"
            x-common: &common
              image: busybox
            services:
              a:
                <<: *common
                x-note: ignored
            """);

        ComposeProject project = files.Load();

        Assert.Contains(project.Warnings, w => w.Contains("`version` is obsolete", StringComparison.Ordinal));
        Assert.Equal("busybox", project.Service("a").Image);
        Assert.False(project.Service("a").Definition.ContainsKey("x-note"));
        Assert.False(project.Root.ContainsKey("x-common"));
    }

    [Fact]
    public void Anchors_and_merge_keys_let_explicit_keys_win()
    {
        using var files = new ComposeTestFiles();
        files.Write("compose.yaml", """
            x-base: &base
              image: busybox
              environment:
                A: "1"
              restart: always
            x-more: &more
              restart: "no"
              user: nobody
            services:
              a:
                <<: [*base, *more]
                restart: on-failure
            """);

        ComposeService a = files.Load().Service("a");

        Assert.Equal("busybox", a.Image);
        Assert.Equal("on-failure", a.Get("restart"));
        Assert.Equal("nobody", a.Get("user"));
        Assert.Equal("1", ((MapNode)a.Definition["environment"]!)["A"].AsText());
    }

    [Fact]
    public void Profiles_switch_services_on_by_flag_environment_or_name_and_bring_dependencies()
    {
        using var files = new ComposeTestFiles();
        files.Write("compose.yaml", """
            services:
              web:
                image: busybox
              debug:
                image: busybox
                profiles: [debug]
                depends_on: [tools]
              tools:
                image: busybox
                profiles: [tools]
            """);

        Assert.Equal(["web"], files.Load().Services.Select(s => s.Name));
        Assert.Equal(["web", "debug", "tools"], files.Load(new ComposeOptions { Profiles = ["debug"] }).Services.Select(s => s.Name));
        Assert.Equal(["web", "tools"], files.Load(new ComposeOptions { TargetServices = ["tools"] }).Services.Select(s => s.Name));
        files.Environment["COMPOSE_PROFILES"] = "tools";
        ComposeProject fromEnv = files.Load();
        Assert.Equal(["web", "tools"], fromEnv.Services.Select(s => s.Name));
        Assert.Equal(["debug"], fromEnv.DisabledServices);
    }

    [Fact]
    public void Short_forms_are_normalised_to_maps()
    {
        using var files = new ComposeTestFiles();
        files.Write("compose.yaml", """
            services:
              db:
                image: busybox
              app:
                build: ./app
                image: busybox
                environment: [A=1, B]
                labels: ["x=y"]
                extra_hosts: ["host1:10.0.0.1", "host2=10.0.0.2"]
                depends_on: [db]
                networks: [front]
                dns: 1.1.1.1
            networks:
              front:
            """);

        ComposeService app = files.Load().Service("app");

        var env = (MapNode)app.Definition["environment"]!;
        Assert.Equal("1", env["A"].AsText());
        Assert.True(env.ContainsKey("B") && env["B"].AsText() is null);
        Assert.Equal("10.0.0.1", ((MapNode)app.Definition["extra_hosts"]!)["host1"].AsText());
        Assert.Equal("10.0.0.2", ((MapNode)app.Definition["extra_hosts"]!)["host2"].AsText());
        Assert.Equal(Path.Combine(files.Dir, "app"), app.Build!["context"].AsText());
        Assert.Equal(new ServiceDependency("db", "service_started", false, true), Assert.Single(app.DependsOn));
        Assert.True(((MapNode)app.Definition["networks"]!).ContainsKey("front"));
        Assert.Equal("1.1.1.1", Assert.Single(((SeqNode)app.Definition["dns"]!).Items).AsText());
    }

    [Fact]
    public void Replicas_come_from_deploy_or_scale()
    {
        using var files = new ComposeTestFiles();
        files.Write("compose.yaml", """
            services:
              a: {image: busybox, scale: 2}
              b: {image: busybox, deploy: {replicas: 3}}
              c: {image: busybox}
            """);

        ComposeProject p = files.Load();

        Assert.Equal([2, 3, 1], p.Services.Select(s => s.Replicas));
    }

    [Fact]
    public void References_to_undefined_services_networks_volumes_and_secrets_fail_with_their_location()
    {
        using var files = new ComposeTestFiles();
        files.Write("a.yaml", "services:\n  web:\n    image: busybox\n    depends_on: [db]\n");
        files.Write("b.yaml", "services:\n  web:\n    image: busybox\n    networks: [back]\n");
        files.Write("c.yaml", "services:\n  web:\n    image: busybox\n    volumes:\n      - data:/data\n");
        files.Write("d.yaml", "services:\n  web:\n    image: busybox\n    secrets: [token]\n");

        Assert.Equal("a.yaml:4: service \"web\" depends on undefined service \"db\": invalid compose project", files.Fails("a.yaml").Message);
        Assert.Equal("b.yaml:4: service \"web\" refers to undefined network back: invalid compose project", files.Fails("b.yaml").Message);
        Assert.Equal("c.yaml:5: service \"web\" refers to undefined volume data: invalid compose project", files.Fails("c.yaml").Message);
        Assert.StartsWith("d.yaml:4: service \"web\" refers to undefined secret token", files.Fails("d.yaml").Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_dependency_cycle_is_refused()
    {
        using var files = new ComposeTestFiles();
        files.Write("compose.yaml", "services:\n  a: {image: busybox, depends_on: [b]}\n  b: {image: busybox, depends_on: [a]}\n");

        Assert.Contains("dependency cycle detected", files.Fails("compose.yaml").Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_default_files_are_found_with_their_override_and_a_missing_file_is_reported()
    {
        using var files = new ComposeTestFiles();
        Assert.Equal("no configuration file provided: not found", Assert.Throws<ComposeException>(() => files.Load()).Message);

        files.Write("docker-compose.yml", "services:\n  a:\n    image: busybox\n");
        files.Write("docker-compose.override.yml", "services:\n  a:\n    image: alpine\n");

        ComposeProject p = files.Load();

        Assert.Equal("alpine", p.Service("a").Image);
        Assert.Equal(2, p.ConfigFiles.Count);
    }

    [Fact]
    public void Relative_bind_sources_secret_files_and_env_files_become_absolute()
    {
        using var files = new ComposeTestFiles();
        files.Write("compose.yaml", """
            services:
              a:
                image: busybox
                volumes: ["./data:/data:ro", "named:/named"]
                env_file: app.env
                secrets: [token]
            volumes:
              named:
            secrets:
              token:
                file: ./token.txt
            """);

        ComposeProject p = files.Load();

        var volumes = (SeqNode)p.Service("a").Definition["volumes"]!;
        Assert.Equal(files.Dir + "/data:/data:ro", volumes.Items[0].AsText());
        Assert.Equal(new ServiceVolume("bind", files.Dir + "/data", "/data", true), ServiceVolume.Parse(volumes.Items[0]));
        Assert.Equal(new ServiceVolume("volume", "named", "/named", false), ServiceVolume.Parse(volumes.Items[1]));
        Assert.Equal(Path.Combine(files.Dir, "app.env"), ((SeqNode)p.Service("a").Definition["env_file"]!).Items[0].AsText());
        Assert.Equal(Path.Combine(files.Dir, "token.txt"), p.Secrets["token"]["file"].AsText());
    }

    [Fact]
    public void Ports_parse_in_short_and_long_syntax_with_ranges()
    {
        using var files = new ComposeTestFiles();
        files.Write("compose.yaml", """
            services:
              a:
                image: busybox
                ports:
                  - 80
                  - "8080:80"
                  - "127.0.0.1:9000-9001:9000-9001/udp"
                  - target: 443
                    published: "8443"
                    host_ip: 0.0.0.0
            """);

        List<ServicePort> ports = [.. ((SeqNode)files.Load().Service("a").Definition["ports"]!).Items.SelectMany(ServicePort.Parse)];

        Assert.Equal(
            [
                new ServicePort("", 80, "", "tcp"), new ServicePort("", 80, "8080", "tcp"),
                new ServicePort("127.0.0.1", 9000, "9000", "udp"), new ServicePort("127.0.0.1", 9001, "9001", "udp"),
                new ServicePort("0.0.0.0", 443, "8443", "tcp"),
            ],
            ports);
    }
}
