using Berth.Build;

namespace Berth.UnitTests;

/// <summary>RUN --mount parsing: BuildKit's defaults and spellings.</summary>
public class RunMountTests
{
    [Fact]
    public void A_cache_mount_defaults_its_id_to_its_target_and_is_writable()
    {
        RunMount mount = RunMount.Parse("type=cache,target=/root/.cache", "/");
        Assert.Equal("cache", mount.Type);
        Assert.Equal("/root/.cache", mount.Id);
        Assert.False(mount.ReadOnly);
        Assert.Equal("shared", mount.Sharing);
    }

    [Fact]
    public void A_bind_is_the_default_type_read_only_unless_rw_and_a_relative_target_is_under_the_workdir()
    {
        RunMount bind = RunMount.Parse("source=src,dst=code", "/app");
        Assert.Equal("bind", bind.Type);
        Assert.True(bind.ReadOnly);
        Assert.Equal("/app/code", bind.Target);
        Assert.False(RunMount.Parse("target=/x,rw", "/").ReadOnly);
        Assert.False(RunMount.Parse("target=/x,readwrite=true", "/").ReadOnly);
    }

    [Fact]
    public void A_secret_is_mounted_under_run_secrets_by_its_id_with_mode_0400_and_its_id_defaults_to_the_target_s_name()
    {
        RunMount byId = RunMount.Parse("type=secret,id=token", "/");
        Assert.Equal("/run/secrets/token", byId.Target);
        Assert.Equal(0x100, byId.Mode);
        Assert.Equal("npmrc", RunMount.Parse("type=secret,target=/root/npmrc,required", "/").Id);
        Assert.True(RunMount.Parse("type=secret,id=x,required=true", "/").Required);
    }

    [Fact]
    public void Options_parse_and_key_the_cache_and_mistakes_are_refused()
    {
        RunMount mount = RunMount.Parse("type=cache,target=/c,id=go,sharing=locked,mode=0700,uid=1000,gid=1001,from=base,source=/seed", "/");
        Assert.Equal(("locked", 0x1C0, 1000, 1001, "base", "/seed"), (mount.Sharing, mount.Mode!.Value, mount.Uid, mount.Gid, mount.From!, mount.Source));
        Assert.NotEqual(mount.KeyText, (mount with { Sharing = "shared" }).KeyText);
        Assert.Throws<DockerfileException>(() => RunMount.Parse("type=volume,target=/x", "/"));
        Assert.Throws<DockerfileException>(() => RunMount.Parse("type=cache", "/"));
        Assert.Throws<DockerfileException>(() => RunMount.Parse("type=cache,target=/x,sharing=sometimes", "/"));
        Assert.Throws<DockerfileException>(() => RunMount.Parse("type=cache,target=/x,colour=blue", "/"));
        Assert.Throws<DockerfileException>(() => RunMount.Parse("type=cache,target=/x,mode=999", "/"));
    }

    [Fact]
    public void Every_mount_flag_of_a_run_is_read_with_variables_substituted_and_a_target_may_not_repeat()
    {
        Instruction run = DockerfileParser.Parse("FROM busybox\nRUN --mount=type=cache,target=$DIR --network=none --mount=type=tmpfs,target=/t true\n").Instructions[1];
        IReadOnlyList<RunMount> mounts = RunMount.ParseAll(run, text => text.Replace("$DIR", "/cache", StringComparison.Ordinal), "/");
        Assert.Equal(["/cache", "/t"], mounts.Select(m => m.Target));
        Instruction twice = DockerfileParser.Parse("FROM busybox\nRUN --mount=type=cache,target=/c --mount=type=tmpfs,target=/c true\n").Instructions[1];
        Assert.Throws<DockerfileException>(() => RunMount.ParseAll(twice, text => text, "/"));
    }
}
