using Berth.Api.Types;
using Berth.Engine.Volumes;
using Berth.Primitives;
using Berth.Runtime;

namespace Berth.UnitTests;

public class MountParserTests
{
    [Fact]
    public void A_named_volume_bind_keeps_its_mode_and_read_only_flag()
    {
        ContainerMount mount = MountParser.ParseBind("data:/var/lib/data:ro,Z");
        Assert.Equal("volume", mount.Type);
        Assert.Equal("data", mount.Name);
        Assert.Equal("/var/lib/data", mount.Destination);
        Assert.Equal("ro,Z", mount.Mode);
        Assert.False(mount.ReadWrite);
    }

    [Fact]
    public void An_absolute_source_is_a_host_bind_with_a_clean_path()
    {
        ContainerMount mount = MountParser.ParseBind("/srv//www/../site:/usr/share/html/");
        Assert.Equal("bind", mount.Type);
        Assert.Null(mount.Name);
        Assert.Equal("/srv/site", mount.Source);
        Assert.Equal("/usr/share/html", mount.Destination);
        Assert.True(mount.ReadWrite);
    }

    [Fact]
    public void Nocopy_is_a_volume_mode()
    {
        Assert.True(MountParser.ParseBind("cache:/cache:nocopy").NoCopy);
        Assert.Throws<EngineException>(() => MountParser.ParseBind("/host:/cache:nocopy"));
    }

    [Theory]
    [InlineData("data:relative", "invalid volume specification: 'data:relative': invalid mount config for type \"volume\": invalid mount path: 'relative' mount path must be absolute")]
    [InlineData("data:/x:rw,ro", "invalid mode: rw,ro")]
    [InlineData("data:/x:bogus", "invalid mode: bogus")]
    [InlineData("/a:/", "invalid volume specification: '/a:/': invalid specification: destination can't be '/'")]
    [InlineData("a:b:c:d", "invalid volume specification: 'a:b:c:d'")]
    [InlineData("x:/data", "volume name is too short, names should be at least two alphanumeric characters")]
    [InlineData("bad$name:/data", "\"bad$name\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path")]
    public void Bad_binds_get_dockers_errors(string spec, string message)
    {
        EngineException e = Assert.Throws<EngineException>(() => MountParser.ParseBind(spec));
        Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void Mount_of_type_volume_without_source_is_anonymous()
    {
        ContainerMount mount = MountParser.ParseMount(new MountSpec { Type = "volume", Target = "/data", VolumeOptions = new MountVolumeOptions { NoCopy = true } });
        Assert.Null(mount.Name);
        Assert.True(mount.NoCopy);
        Assert.True(mount.ReadWrite);
    }

    [Fact]
    public void Mount_of_type_tmpfs_turns_size_and_mode_into_options()
    {
        ContainerMount mount = MountParser.ParseMount(new MountSpec { Type = "tmpfs", Target = "/scratch", TmpfsOptions = new MountTmpfsOptions { SizeBytes = 1024 * 1024, Mode = Convert.ToInt32("1770", 8) } });
        Assert.Equal("tmpfs", mount.Type);
        Assert.Equal("size=1024k,mode=1770", mount.TmpfsOptions);
        Assert.True(mount.Listed);
    }

    [Theory]
    [InlineData("bind", null, "/x", "invalid mount config for type \"bind\": field Source must not be empty")]
    [InlineData("bind", "rel", "/x", "invalid mount config for type \"bind\": invalid mount path: 'rel' mount path must be absolute")]
    [InlineData("tmpfs", "src", "/x", "invalid mount config for type \"tmpfs\": field Source must not be specified")]
    [InlineData("volume", "vol", null, "invalid mount config for type \"volume\": field Target must not be empty")]
    [InlineData("npipe", "vol", "/x", "mount type unknown: \"npipe\"")]
    public void Bad_mounts_get_dockers_errors(string type, string? source, string? target, string message)
    {
        EngineException e = Assert.Throws<EngineException>(() => MountParser.ParseMount(new MountSpec { Type = type, Source = source, Target = target }));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void Bind_options_are_refused_on_a_volume()
    {
        EngineException e = Assert.Throws<EngineException>(() => MountParser.ParseMount(new MountSpec { Type = "volume", Target = "/x", BindOptions = new MountBindOptions { Propagation = "rshared" } }));
        Assert.Equal("invalid mount config for type \"volume\": field BindOptions must not be specified", e.Message);
    }

    [Fact]
    public void Tmpfs_entries_are_hidden_from_inspect_and_honour_ro()
    {
        ContainerMount mount = MountParser.ParseTmpfs("/run", "ro,size=1m");
        Assert.False(mount.Listed);
        Assert.False(mount.ReadWrite);
        Assert.Equal("ro,size=1m", mount.TmpfsOptions);
    }

    [Theory]
    [InlineData("web", "web", null)]
    [InlineData("web:ro", "web", false)]
    [InlineData("web:rw", "web", true)]
    public void Volumes_from_takes_an_optional_mode(string spec, string container, bool? readWrite)
    {
        Assert.Equal((container, readWrite), MountParser.ParseVolumesFrom(spec));
    }

    [Fact]
    public void Volumes_from_rejects_an_unknown_mode()
    {
        Assert.Throws<EngineException>(() => MountParser.ParseVolumesFrom("web:maybe"));
    }

    [Theory]
    [InlineData("size=64m,uid=1000", 0UL, "size=64m,uid=1000")]
    [InlineData("bind,ro", 0x1001UL, "")]
    [InlineData("nosuid,nodev,noexec,mode=700", 0xEUL, "mode=700")]
    public void Local_driver_options_split_into_flags_and_data(string options, ulong flags, string data)
    {
        Assert.Equal((flags, data), VolumeService.ParseMountOptions(options));
    }

    [Fact]
    public void Local_driver_options_are_checked_as_docker_does()
    {
        Assert.Equal("invalid option key: \"size\"", Assert.Throws<EngineException>(() => VolumeService.ValidateOptions(new Dictionary<string, string> { ["size"] = "1g" })).Message);
        Assert.Equal("missing required option: \"device\"", Assert.Throws<EngineException>(() => VolumeService.ValidateOptions(new Dictionary<string, string> { ["type"] = "tmpfs" })).Message);
        VolumeService.ValidateOptions(new Dictionary<string, string> { ["type"] = "tmpfs", ["device"] = "tmpfs", ["o"] = "size=1m" });
    }
}

public class OciSpecMountTests
{
    private static readonly HostFacts Host = new() { CgroupVersion = 1, CgroupHybrid = true, NoFileHardLimit = 20000 };

    [Fact]
    public void User_mounts_replace_a_default_at_the_same_place_and_come_after_their_parents()
    {
        var run = new ContainerRunSpec
        {
            Id = new string('b', 64),
            Args = ["true"],
            Env = ["PATH=/bin"],
            EtcFiles = [("/h/hosts", "/etc/hosts")],
            Mounts =
            [
                new RunMount { Destination = "/dev/shm", Type = "tmpfs", Source = "tmpfs", Options = ["size=1m"] },
                new RunMount { Destination = "/etc", Type = "bind", Source = "/v/_data", Options = ["rbind", "rprivate", "ro", "rro"] },
            ],
        };

        IReadOnlyList<OciMount> mounts = OciSpecBuilder.Build(run, Host).Mounts;
        OciMount shm = Assert.Single(mounts, m => m.Destination == "/dev/shm");
        Assert.Equal(["size=1m"], shm.Options);
        int etc = mounts.ToList().FindIndex(m => m.Destination == "/etc");
        int hosts = mounts.ToList().FindIndex(m => m.Destination == "/etc/hosts");
        Assert.True(etc >= 0 && etc < hosts, "a volume on /etc must be mounted before the /etc/hosts bind");
        Assert.True(mounts.ToList().FindIndex(m => m.Destination == "/dev") < mounts.ToList().FindIndex(m => m.Destination == "/dev/pts"));
    }
}
