using Berth.Api.Types;
using Berth.Compose;
using Berth.Compose.Engine;
using Berth.Compose.Loading;

namespace Berth.UnitTests.Compose;

public class ServiceSpecTests
{
    private static (ComposeProject Project, ContainerCreateRequest Request) Build(string yaml, string service = "web", Action<ComposeTestFiles>? setup = null)
    {
        using var files = new ComposeTestFiles();
        setup?.Invoke(files);
        files.Write("compose.yaml", "name: proj\n" + yaml);
        ComposeProject project = files.Load();
        ComposeService s = project.Service(service);
        var plan = new ContainerPlan { Name = ServiceSpec.ContainerName(project, s, 2), Number = 2, ConfigHash = ServiceSpec.ConfigHash(s) };
        return (project, ServiceSpec.Build(project, s, plan));
    }

    [Fact]
    public void Labels_names_network_and_aliases_are_compose_v2s()
    {
        (ComposeProject p, ContainerCreateRequest r) = Build("""
            services:
              web:
                image: busybox
                networks:
                  front:
                    aliases: [www]
                    ipv4_address: 10.5.0.9
                  back:
            networks:
              front:
              back:
            """);

        Assert.Equal("proj-web-2", ServiceSpec.ContainerName(p, p.Service("web"), 2));
        Assert.Equal("proj", r.Labels![ComposeLabels.Project]);
        Assert.Equal("web", r.Labels[ComposeLabels.Service]);
        Assert.Equal("2", r.Labels[ComposeLabels.ContainerNumber]);
        Assert.Equal("False", r.Labels[ComposeLabels.OneOff]);
        Assert.Equal(64, r.Labels[ComposeLabels.ConfigHash].Length);
        Assert.Equal("proj_back", r.HostConfig!.NetworkMode);
        EndpointSettings first = r.NetworkingConfig!.EndpointsConfig!["proj_back"];
        Assert.Equal(["web"], first.Aliases);
        Assert.Equal(["back", "front"], ServiceSpec.Networks(p.Service("web")).Select(n => n.Key));
        EndpointSettings front = ServiceSpec.Endpoint(p, p.Service("web"), ServiceSpec.Networks(p.Service("web"))[1].Settings, null);
        Assert.Equal(["web", "www"], front.Aliases);
        Assert.Equal("10.5.0.9", front.IPAMConfig!.IPv4Address);
    }

    [Fact]
    public void Service_attributes_map_to_the_create_request()
    {
        (_, ContainerCreateRequest r) = Build("""
            services:
              web:
                image: busybox
                command: sh -c "echo 'hi there'"
                entrypoint: ["/bin/env"]
                environment: {A: "1", FROM_HOST: null}
                env_file: app.env
                ports: ["8080:80", "127.0.0.1::53/udp"]
                expose: ["3000"]
                volumes: ["data:/data", "/etc/hosts:/h:ro", {type: tmpfs, target: /t, tmpfs: {size: 1m}}]
                tmpfs: /run:size=64k
                hostname: h1
                user: "1000"
                working_dir: /w
                init: true
                privileged: true
                read_only: true
                cap_add: [NET_ADMIN]
                cap_drop: [ALL]
                dns: [9.9.9.9]
                extra_hosts: ["db:10.0.0.2"]
                restart: on-failure:3
                stop_grace_period: 1m30s
                stop_signal: SIGUSR1
                ulimits: {nofile: {soft: 100, hard: 200}, nproc: 50}
                logging: {driver: json-file, options: {max-size: 1m}}
                deploy: {resources: {limits: {cpus: "0.5", memory: 64m, pids: 20}}}
                healthcheck: {test: "true", interval: 2s, timeout: 1s, retries: 3, start_period: 500ms}
                labels: {team: x}
                secrets: [token]
                configs: [{source: conf, target: /etc/app.conf}]
            volumes: {data: {}}
            secrets: {token: {file: ./token}}
            configs: {conf: {file: ./app.conf}}
            """, setup: f =>
        {
            f.Write("app.env", "E=from-file\nA=overridden\n");
            f.Environment["FROM_HOST"] = "host-value";
        });

        Assert.Equal(["sh", "-c", "echo 'hi there'"], r.Cmd);
        Assert.Equal(["/bin/env"], r.Entrypoint);
        Assert.Equal(["E=from-file", "A=1", "FROM_HOST=host-value"], r.Env);
        HostConfig h = r.HostConfig!;
        Assert.Equal("8080", h.PortBindings!["80/tcp"]![0].HostPort);
        Assert.Equal("127.0.0.1", h.PortBindings["53/udp"]![0].HostIp);
        Assert.True(r.ExposedPorts!.ContainsKey("3000/tcp"));
        Assert.Contains(h.Mounts!, m => m is { Type: "volume", Source: "proj_data", Target: "/data" });
        Assert.Contains(h.Mounts!, m => m is { Type: "tmpfs", Target: "/t", TmpfsOptions.SizeBytes: 1 << 20 });
        Assert.Contains("/etc/hosts:/h:ro", h.Binds!);
        Assert.Contains(h.Binds!, b => b.EndsWith("/token:/run/secrets/token:ro", StringComparison.Ordinal));
        Assert.Contains(h.Binds!, b => b.EndsWith("/app.conf:/etc/app.conf:ro", StringComparison.Ordinal));
        Assert.Equal("size=64k", h.Tmpfs!["/run"]);
        Assert.Equal(("h1", "1000", "/w"), (r.Hostname, r.User, r.WorkingDir));
        Assert.True(h.Init == true && h.Privileged && h.ReadonlyRootfs);
        Assert.Equal(["NET_ADMIN"], h.CapAdd);
        Assert.Equal(["db:10.0.0.2"], h.ExtraHosts);
        Assert.Equal(("on-failure", 3), (h.RestartPolicy!.Name, h.RestartPolicy.MaximumRetryCount));
        Assert.Equal(90, r.StopTimeout);
        Assert.Equal("SIGUSR1", r.StopSignal);
        Assert.Contains(h.Ulimits!, u => u is { Name: "nofile", Soft: 100, Hard: 200 });
        Assert.Contains(h.Ulimits!, u => u is { Name: "nproc", Soft: 50, Hard: 50 });
        Assert.Equal("1m", h.LogConfig!.Config!["max-size"]);
        Assert.Equal((500_000_000L, 64L << 20, 20L), (h.NanoCpus, h.Memory, h.PidsLimit!.Value));
        Assert.Equal(["CMD-SHELL", "true"], r.Healthcheck!.Test);
        Assert.Equal((2_000_000_000L, 3, 500_000_000L), (r.Healthcheck.Interval, r.Healthcheck.Retries, r.Healthcheck.StartPeriod));
        Assert.Equal("x", r.Labels!["team"]);
    }

    [Fact]
    public void The_config_hash_ignores_scale_and_dependencies_but_not_the_definition()
    {
        string Hash(string extra) => Build("services:\n  db: {image: busybox}\n  web:\n    image: busybox\n" + extra).Request.Labels![ComposeLabels.ConfigHash];

        string plain = Hash("");

        Assert.Equal(plain, Hash("    scale: 3\n"));
        Assert.Equal(plain, Hash("    depends_on: [db]\n"));
        Assert.NotEqual(plain, Hash("    command: sleep 5\n"));
        Assert.NotEqual(plain, Hash("    environment: [A=1]\n"));
    }

    [Theory]
    [InlineData("a b  c", new[] { "a", "b", "c" })]
    [InlineData("sh -c 'echo $HOME'", new[] { "sh", "-c", "echo $HOME" })]
    [InlineData("echo \"a \\\"b\\\"\" c\\ d", new[] { "echo", "a \"b\"", "c d" })]
    public void Command_strings_split_like_a_shell(string text, string[] words) => Assert.Equal(words, ShellWords.Split(text));

    [Fact]
    public void Durations_and_sizes_use_compose_units()
    {
        var mark = new SourceMark("x", 1, 1);
        Assert.Equal(TimeSpan.FromSeconds(90), Units.ParseDuration("1m30s", mark));
        Assert.Equal(TimeSpan.FromMilliseconds(1500), Units.ParseDuration("1.5s", mark));
        Assert.Equal(TimeSpan.FromSeconds(10), Units.ParseDuration("10", mark));
        Assert.Equal(512L << 20, Units.ParseBytes("512m", mark));
        Assert.Equal(1L << 30, Units.ParseBytes("1gb", mark));
        Assert.Throws<ComposeException>(() => Units.ParseBytes("lots", mark));
    }
}
