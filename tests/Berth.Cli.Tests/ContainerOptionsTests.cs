using Berth.Api.Types;
using Berth.Cli.Options;
using Berth.Cli.Parsing;

namespace Berth.Cli.Tests;

public class ContainerOptionsTests
{
    private static ContainerPlan Plan(params string[] args) => Plan(new Dictionary<string, string>(), new Dictionary<string, string>(), args);

    private static ContainerPlan Plan(Dictionary<string, string> env, Dictionary<string, string> files, params string[] args)
    {
        var flags = new FlagSet();
        ContainerFlags.DefineRun(flags);
        ParsedArgs parsed = flags.Parse(args, interspersed: false);
        return ContainerOptions.Build(parsed, isRun: true, k => env.GetValueOrDefault(k), f => files.TryGetValue(f, out string? text) ? text : throw new FileNotFoundException(f), "/work");
    }

    [Fact]
    public void Plain_run_attaches_stdout_and_stderr()
    {
        ContainerPlan plan = Plan("busybox", "echo", "hi");
        ContainerCreateRequest r = plan.Request;
        Assert.Equal("busybox", r.Image);
        Assert.Equal(["echo", "hi"], r.Cmd);
        Assert.True(r.AttachStdout);
        Assert.True(r.AttachStderr);
        Assert.False(r.AttachStdin);
        Assert.False(r.OpenStdin);
        Assert.Equal("default", r.HostConfig!.NetworkMode);
        Assert.Equal("no", r.HostConfig.RestartPolicy!.Name);
        Assert.Null(r.HostConfig.Init);
        Assert.False(plan.Detach);
    }

    [Fact]
    public void Interactive_tty_run_attaches_stdin_once()
    {
        ContainerCreateRequest r = Plan("-it", "--rm", "busybox").Request;
        Assert.True(r.Tty);
        Assert.True(r.OpenStdin);
        Assert.True(r.AttachStdin);
        Assert.True(r.StdinOnce);
        Assert.True(r.HostConfig!.AutoRemove);
        Assert.Null(r.Cmd);
    }

    [Fact]
    public void Detached_run_attaches_nothing()
    {
        ContainerPlan plan = Plan("-d", "-i", "busybox");
        Assert.True(plan.Detach);
        Assert.False(plan.Request.AttachStdin || plan.Request.AttachStdout || plan.Request.AttachStderr);
        Assert.False(plan.Request.StdinOnce);
    }

    [Fact]
    public void Attach_flag_selects_streams()
    {
        ContainerCreateRequest r = Plan("-a", "stderr", "busybox").Request;
        Assert.False(r.AttachStdout);
        Assert.True(r.AttachStderr);
        Assert.Throws<StatusException>(() => Plan("-d", "-a", "stdout", "busybox"));
    }

    [Fact]
    public void Env_comes_from_files_then_flags_and_bare_names_read_the_client_environment()
    {
        var env = new Dictionary<string, string> { ["HOME"] = "/home/me", ["FROMFILE"] = "f" };
        var files = new Dictionary<string, string> { ["app.env"] = "# comment\n\nA=1\nFROMFILE\nUNSET\n  B=two words\n" };
        ContainerCreateRequest r = Plan(env, files, "--env-file", "app.env", "-e", "C=3", "-e", "HOME", "-e", "NOPE", "busybox").Request;
        Assert.Equal(["A=1", "FROMFILE=f", "B=two words", "C=3", "HOME=/home/me", "NOPE"], r.Env);
    }

    [Fact]
    public void Labels_entrypoint_user_workdir_hostname()
    {
        ContainerCreateRequest r = Plan("-l", "a=1", "--label", "flag", "--entrypoint", "/bin/sh", "-u", "1000:1000", "-w", "/srv", "-h", "box", "--stop-signal", "SIGINT", "--stop-timeout", "3", "busybox").Request;
        Assert.Equal("1", r.Labels!["a"]);
        Assert.Equal("", r.Labels["flag"]);
        Assert.Equal(["/bin/sh"], r.Entrypoint);
        Assert.Equal("1000:1000", r.User);
        Assert.Equal("/srv", r.WorkingDir);
        Assert.Equal("box", r.Hostname);
        Assert.Equal("SIGINT", r.StopSignal);
        Assert.Equal(3, r.StopTimeout);
        Assert.Equal([""], Plan("--entrypoint", "", "busybox").Request.Entrypoint);
    }

    [Fact]
    public void Resources_and_host_settings()
    {
        ContainerCreateRequest r = Plan("-m", "512m", "--cpus", "1.5", "--pids-limit", "100", "--init", "--privileged", "--read-only",
            "--restart", "on-failure:3", "--cap-add", "NET_ADMIN", "--cap-drop", "ALL", "--network", "host", "--runtime", "runc", "busybox").Request;
        HostConfig h = r.HostConfig!;
        Assert.Equal(512L << 20, h.Memory);
        Assert.Equal(1_500_000_000, h.NanoCpus);
        Assert.Equal(100, h.PidsLimit);
        Assert.True(h.Init);
        Assert.True(h.Privileged);
        Assert.True(h.ReadonlyRootfs);
        Assert.Equal(new RestartPolicy { Name = "on-failure", MaximumRetryCount = 3 }, h.RestartPolicy);
        Assert.Equal(["NET_ADMIN"], h.CapAdd);
        Assert.Equal(["ALL"], h.CapDrop);
        Assert.Equal("host", h.NetworkMode);
        Assert.Equal("runc", h.Runtime);
    }

    [Fact]
    public void Volumes_split_into_binds_and_anonymous_volumes()
    {
        ContainerCreateRequest r = Plan("-v", "/data", "-v", "/host:/ctr:ro", "-v", "./rel:/rel", "-v", "named:/n", "busybox").Request;
        Assert.Equal(["/host:/ctr:ro", "/work/rel:/rel", "named:/n"], r.HostConfig!.Binds);
        Assert.True(r.Volumes!.ContainsKey("/data"));
    }

    [Fact]
    public void Ports_become_exposed_ports_and_bindings()
    {
        ContainerPlan plan = Plan("-p", "8080:80", "-p", "127.0.0.1:5353:53/udp", "-p", "9000-9001:7000-7001", "-p", "443", "--expose", "22", "busybox");
        Assert.Equal(["22/tcp", "443/tcp", "53/udp", "7000/tcp", "7001/tcp", "80/tcp"], plan.Request.ExposedPorts!.Keys.Order(StringComparer.Ordinal));
        Dictionary<string, IReadOnlyList<PortBinding>?> b = plan.Request.HostConfig!.PortBindings!;
        Assert.Equal("8080", b["80/tcp"]![0].HostPort);
        Assert.Equal("127.0.0.1", b["53/udp"]![0].HostIp);
        Assert.Equal("9001", b["7001/tcp"]![0].HostPort);
        Assert.Equal("", b["443/tcp"]![0].HostPort);
    }

    [Theory]
    [InlineData("-m", "lots")]
    [InlineData("--cpus", "abc")]
    [InlineData("--restart", "sometimes")]
    [InlineData("-p", "80:90:100:x")]
    [InlineData("-p", "8000-8002:80-81")]
    public void Bad_values_are_flag_errors(string flag, string value) =>
        Assert.Throws<FlagParseException>(() => Plan(flag, value, "busybox"));

    [Fact]
    public void Rm_conflicts_with_restart_policy() =>
        Assert.Throws<StatusException>(() => Plan("--rm", "--restart", "always", "busybox"));

    [Fact]
    public void Mount_flag_is_parsed()
    {
        MountSpec m = Plan("--mount", "type=bind,source=/a,target=/b,readonly", "busybox").Request.HostConfig!.Mounts![0];
        Assert.Equal("bind", m.Type);
        Assert.Equal("/a", m.Source);
        Assert.Equal("/b", m.Target);
        Assert.True(m.ReadOnly);
    }

    [Fact]
    public void Mount_volume_options_and_labels_are_parsed()
    {
        MountSpec m = Plan("--mount", "type=volume,source=v1,target=/d,volume-opt=type=tmpfs,volume-opt=device=tmpfs,volume-label=team=blue,volume-nocopy", "busybox").Request.HostConfig!.Mounts![0];
        Assert.Equal(new Dictionary<string, string> { ["type"] = "tmpfs", ["device"] = "tmpfs" }, m.VolumeOptions!.DriverConfig!.Options);
        Assert.Equal(new Dictionary<string, string> { ["team"] = "blue" }, m.VolumeOptions.Labels);
        Assert.True(m.VolumeOptions.NoCopy);
    }
}
