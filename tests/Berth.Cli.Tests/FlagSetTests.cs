using Berth.Cli.Options;
using Berth.Cli.Parsing;

namespace Berth.Cli.Tests;

public class FlagSetTests
{
    private static FlagSet RunFlags()
    {
        var f = new FlagSet();
        ContainerFlags.DefineRun(f);
        return f;
    }

    [Fact]
    public void Combined_short_bools_set_each_flag()
    {
        ParsedArgs p = RunFlags().Parse(["-it", "busybox"], interspersed: false);
        Assert.True(p.Bool("interactive"));
        Assert.True(p.Bool("tty"));
        Assert.False(p.Bool("detach"));
        Assert.Equal(["busybox"], p.Positionals);
    }

    [Fact]
    public void Long_flags_take_values_after_equals_or_as_next_argument()
    {
        ParsedArgs p = RunFlags().Parse(["--name=web", "--workdir", "/srv", "busybox"], interspersed: false);
        Assert.Equal("web", p.String("name"));
        Assert.Equal("/srv", p.String("workdir"));
    }

    [Fact]
    public void Repeated_list_flags_keep_every_value_in_order()
    {
        ParsedArgs p = RunFlags().Parse(["-e", "A=1", "--env=B=2", "-eC=3", "-e=D=4", "busybox"], interspersed: false);
        Assert.Equal(["A=1", "B=2", "C=3", "D=4"], p.List("env"));
    }

    [Fact]
    public void Shorthand_takes_the_rest_of_the_cluster_as_its_value()
    {
        ParsedArgs p = RunFlags().Parse(["-dp8080:80", "busybox"], interspersed: false);
        Assert.True(p.Bool("detach"));
        Assert.Equal(["8080:80"], p.List("publish"));
    }

    [Fact]
    public void Run_stops_parsing_at_the_image()
    {
        ParsedArgs p = RunFlags().Parse(["--rm", "busybox", "ls", "-la", "--name", "x", "--", "-it"], interspersed: false);
        Assert.True(p.Bool("rm"));
        Assert.Null(p.String("name"));
        Assert.Equal(["busybox", "ls", "-la", "--name", "x", "--", "-it"], p.Positionals);
    }

    [Fact]
    public void Double_dash_ends_flags()
    {
        ParsedArgs p = RunFlags().Parse(["-d", "--", "-image-looking-thing", "-x"], interspersed: false);
        Assert.True(p.Bool("detach"));
        Assert.Equal(["-image-looking-thing", "-x"], p.Positionals);
    }

    [Fact]
    public void Interspersed_commands_accept_flags_after_arguments()
    {
        var f = new FlagSet().Bool("force", 'f', "").Bool("volumes", 'v', "");
        ParsedArgs p = f.Parse(["a", "-f", "b", "--volumes"], interspersed: true);
        Assert.True(p.Bool("force"));
        Assert.True(p.Bool("volumes"));
        Assert.Equal(["a", "b"], p.Positionals);
    }

    [Fact]
    public void Bools_accept_explicit_values_only_after_equals()
    {
        var f = new FlagSet().Bool("detach", 'd', "").Bool("sig-proxy", null, "", defaultValue: true);
        ParsedArgs p = f.Parse(["--detach=false", "--sig-proxy=0", "false"], interspersed: true);
        Assert.False(p.Bool("detach"));
        Assert.True(p.Changed("detach"));
        Assert.False(p.Bool("sig-proxy"));
        Assert.Equal(["false"], p.Positionals);
        Assert.True(f.Parse([], interspersed: true).Bool("sig-proxy"));
    }

    [Theory]
    [InlineData("--foo", "unknown flag: --foo")]
    [InlineData("--foo=bar", "unknown flag: --foo")]
    [InlineData("-Z", "unknown shorthand flag: 'Z' in -Z")]
    [InlineData("-dZ", "unknown shorthand flag: 'Z' in -dZ")]
    [InlineData("--name", "flag needs an argument: --name")]
    [InlineData("---x", "bad flag syntax: ---x")]
    public void Parse_errors_read_like_pflag(string arg, string message)
    {
        FlagParseException e = Assert.Throws<FlagParseException>(() => RunFlags().Parse([arg], interspersed: false));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void Integers_are_checked_while_parsing()
    {
        var f = new FlagSet().Int("last", 'n', "", defaultValue: -1);
        Assert.Equal(-1, f.Parse([], true).Int("last"));
        Assert.Equal(3, f.Parse(["-n", "3"], true).Int("last"));
        FlagParseException e = Assert.Throws<FlagParseException>(() => f.Parse(["-n", "x"], true));
        Assert.Equal("invalid argument \"x\" for \"-n, --last\" flag: strconv.ParseInt: parsing \"x\": invalid syntax", e.Message);
    }

    [Fact]
    public void Lone_dash_is_an_argument()
    {
        ParsedArgs p = new FlagSet().Bool("a", 'a', "").Parse(["-", "-a"], interspersed: true);
        Assert.Equal(["-"], p.Positionals);
        Assert.True(p.Bool("a"));
    }

    [Fact]
    public void Usages_align_like_pflag()
    {
        var f = new FlagSet()
            .Bool("all", 'a', "Show all")
            .String("format", null, "Format output")
            .Int("last", 'n', "Show n last", defaultValue: -1);
        Assert.Equal(
            "  -a, --all             Show all\n" +
            "      --format string   Format output\n" +
            "  -n, --last int        Show n last (default -1)\n",
            f.Usages());
    }
}
