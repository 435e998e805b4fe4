using Berth.Compose;
using Berth.Compose.Loading;

namespace Berth.UnitTests.Compose;

public class InterpolationTests
{
    private static readonly Dictionary<string, string> Vars = new(StringComparer.Ordinal)
    {
        ["NAME"] = "web",
        ["EMPTY"] = "",
        ["PORT"] = "8080",
    };

    private static string Sub(string text, Interpolation? interpolation = null) =>
        (interpolation ?? new Interpolation(n => Vars.GetValueOrDefault(n))).Substitute(text, new SourceMark("compose.yaml", 3, 1));

    [Theory]
    [InlineData("${NAME}", "web")]
    [InlineData("$NAME-x", "web-x")]
    [InlineData("a${NAME}b", "awebb")]
    [InlineData("$$NAME", "$NAME")]
    [InlineData("$${NAME}", "${NAME}")]
    [InlineData("${UNSET:-dflt}", "dflt")]
    [InlineData("${EMPTY:-dflt}", "dflt")]
    [InlineData("${EMPTY-dflt}", "")]
    [InlineData("${UNSET-dflt}", "dflt")]
    [InlineData("${NAME:+alt}", "alt")]
    [InlineData("${EMPTY:+alt}", "")]
    [InlineData("${EMPTY+alt}", "alt")]
    [InlineData("${UNSET+alt}", "")]
    [InlineData("${UNSET:-${NAME}:${PORT}}", "web:8080")]
    [InlineData("${UNSET:-a-$PORT}", "a-8080")]
    [InlineData("cost $ 5", "cost $ 5")]
    [InlineData("${NAME:?must be set}", "web")]
    public void Substitutes_as_compose_does(string text, string expected) => Assert.Equal(expected, Sub(text));

    [Fact]
    public void A_required_variable_fails_with_its_message_and_location()
    {
        ComposeException colon = Assert.Throws<ComposeException>(() => Sub("${EMPTY:?the port is needed}"));
        Assert.Equal("compose.yaml:3: required variable EMPTY is missing a value: the port is needed", colon.Message);

        Assert.Equal("", Sub("${EMPTY?only unset fails}"));
        ComposeException plain = Assert.Throws<ComposeException>(() => Sub("${UNSET?}"));
        Assert.Equal("compose.yaml:3: required variable UNSET is missing a value", plain.Message);
    }

    [Fact]
    public void Unset_variables_default_to_empty_and_are_reported_once()
    {
        var interpolation = new Interpolation(n => Vars.GetValueOrDefault(n));

        Assert.Equal("a--b", Sub("a-${NOPE}-$NOPE${ALSO}b", interpolation));

        Assert.Equal(["NOPE", "ALSO"], interpolation.Unset);
    }

    [Fact]
    public void A_bad_template_is_an_error()
    {
        Assert.Contains("Invalid template", Assert.Throws<ComposeException>(() => Sub("${NAME")).Message, StringComparison.Ordinal);
        Assert.Contains("Invalid template", Assert.Throws<ComposeException>(() => Sub("${}")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_dotenv_file_feeds_interpolation_and_the_process_environment_wins()
    {
        using var files = new ComposeTestFiles();
        files.Write(".env", """
            # comment
            export TAG=1.2
            IMAGE=busybox:${TAG}
            QUOTED='single $TAG'
            DOUBLE="double ${TAG}"
            PORT=80 # trailing comment
            """);
        files.Write("compose.yaml", """
            services:
              a:
                image: ${IMAGE}
                environment:
                  Q: $QUOTED
                  D: ${DOUBLE}
                  P: ${PORT}
                  LITERAL: $$HOME
            """);

        ComposeService a = files.Load().Service("a");
        Assert.Equal("busybox:1.2", a.Image);
        var env = (MapNode)a.Definition["environment"]!;
        Assert.Equal("single $TAG", env["Q"].AsText());
        Assert.Equal("double 1.2", env["D"].AsText());
        Assert.Equal("80", env["P"].AsText());
        Assert.Equal("$HOME", env["LITERAL"].AsText());

        files.Environment["PORT"] = "9090";
        Assert.Equal("9090", ((MapNode)files.Load().Service("a").Definition["environment"]!)["P"].AsText());
    }

    [Fact]
    public void An_env_file_flag_replaces_the_dotenv_file()
    {
        using var files = new ComposeTestFiles();
        files.Write(".env", "IMAGE=fromdotenv\n");
        files.Write("other.env", "IMAGE=fromflag\n");
        files.Write("compose.yaml", "services:\n  a:\n    image: ${IMAGE}\n");

        Assert.Equal("fromflag", files.Load(new ComposeOptions { EnvFiles = [Path.Combine(files.Dir, "other.env")] }).Service("a").Image);
        Assert.Throws<ComposeException>(() => files.Load(new ComposeOptions { EnvFiles = [Path.Combine(files.Dir, "missing.env")] }));
    }

    [Fact]
    public void Interpolated_values_are_typed_for_validation()
    {
        using var files = new ComposeTestFiles();
        files.Environment["REPLICAS"] = "3";
        files.Write("compose.yaml", "services:\n  a:\n    image: busybox\n    deploy:\n      replicas: ${REPLICAS}\n");

        Assert.Equal(3, files.Load().Service("a").Replicas);
    }
}
