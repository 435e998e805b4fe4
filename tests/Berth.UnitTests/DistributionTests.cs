using Berth.Distribution;
using Berth.Primitives;

namespace Berth.UnitTests;

public class DistributionTests
{
    [Theory]
    [InlineData("busybox", "registry-1.docker.io", "https", "library/busybox", "latest", null)]
    [InlineData("docker.io/library/alpine:3.20", "registry-1.docker.io", "https", "library/alpine", "3.20", null)]
    [InlineData("127.0.0.1:5000/team/app:v1", "127.0.0.1:5000", "https", "team/app", "v1", null)]
    [InlineData("localhost:5000/app", "localhost:5000", "https", "app", "latest", null)]
    [InlineData("ghcr.io/owner/tool@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "ghcr.io", "https", "owner/tool", null, "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    public void References_resolve_to_registry_repository_and_tag(string text, string host, string scheme, string path, string? tag, string? digest)
    {
        ImageReference reference = ImageReference.Parse(text);
        RegistryEndpoint endpoint = RegistryEndpoint.For(reference);

        Assert.Equal(host, endpoint.Host);
        Assert.Equal(scheme, endpoint.BaseUri.Scheme);
        Assert.Equal(path, reference.Path);
        Assert.Equal(tag, reference.Tag);
        Assert.Equal(digest, reference.Digest);
    }

    [Fact]
    public void Insecure_registries_are_named_by_host_or_cidr_and_loopback_always_is()
    {
        Assert.False(RegistryEndpoint.ForHost("reg.example:5000").Insecure);
        Assert.True(RegistryEndpoint.ForHost("reg.example:5000", ["reg.example:5000"]).Insecure);
        Assert.True(RegistryEndpoint.ForHost("10.1.2.3:5000", ["10.0.0.0/8"]).Insecure);
        Assert.False(RegistryEndpoint.ForHost("11.1.2.3:5000", ["10.0.0.0/8"]).Insecure);
        Assert.False(RegistryEndpoint.ForHost("reg.example:5000", ["10.0.0.0/8"]).Insecure);
        Assert.True(RegistryEndpoint.ForHost("localhost:5000").Insecure);
        Assert.True(RegistryEndpoint.ForHost("127.0.0.9:5000").Insecure);
        Assert.True(RegistryEndpoint.ForHost("[::1]:5000").Insecure);
    }

    [Fact]
    public void An_insecure_registry_starts_with_https_until_plain_http_is_known_to_be_what_works()
    {
        const string host = "reg-scheme.example:5000";
        Assert.Equal("https", RegistryEndpoint.ForHost(host, [host]).BaseUri.Scheme);
        RegistrySchemes.Remember(host, "http");
        try
        {
            Assert.Equal("http", RegistryEndpoint.ForHost(host, [host]).BaseUri.Scheme);
            // A secure registry never falls back, whatever was remembered.
            Assert.Equal("https", RegistryEndpoint.ForHost(host).BaseUri.Scheme);
        }
        finally
        {
            RegistrySchemes.Forget(host);
        }

        Assert.Equal("https", RegistryEndpoint.ForHost(host, [host]).BaseUri.Scheme);
    }

    [Fact]
    public void Daemon_json_registry_settings_are_checked_as_dockerd_checks_them()
    {
        DistributionOptions options = Berth.Engine.Images.RegistrySettings.Parse(new Dictionary<string, string>
        {
            ["insecure-registries"] = """["10.0.0.0/8", "reg.example:5000"]""",
            ["registry-mirrors"] = """["https://mirror.example", "http://10.1.1.1:5000/"]""",
        });
        Assert.Equal(["10.0.0.0/8", "reg.example:5000"], options.InsecureRegistries);
        Assert.Equal(["https://mirror.example/", "http://10.1.1.1:5000/"], options.Mirrors.Select(m => m.ToString()));

        Assert.Contains("must use either 'https://' or 'http://'", Assert.Throws<FormatException>(() => Berth.Engine.Images.RegistrySettings.Parse(new Dictionary<string, string> { ["registry-mirrors"] = """["mirror.example"]""" })).Message, StringComparison.Ordinal);
        Assert.Contains("path, query, or fragment", Assert.Throws<FormatException>(() => Berth.Engine.Images.RegistrySettings.Parse(new Dictionary<string, string> { ["registry-mirrors"] = """["https://mirror.example/v2"]""" })).Message, StringComparison.Ordinal);
        Assert.Contains("should not contain '://'", Assert.Throws<FormatException>(() => Berth.Engine.Images.RegistrySettings.Parse(new Dictionary<string, string> { ["insecure-registries"] = """["http://reg.example"]""" })).Message, StringComparison.Ordinal);
        Assert.Contains("must be a list of strings", Assert.Throws<FormatException>(() => Berth.Engine.Images.RegistrySettings.Parse(new Dictionary<string, string> { ["insecure-registries"] = "\"reg.example\"" })).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Daemon_json_transfer_limits_default_to_dockerds_and_are_checked_as_it_checks_them()
    {
        DistributionOptions defaults = Berth.Engine.Images.RegistrySettings.Parse(new Dictionary<string, string>());
        Assert.Equal((3, 5, 5), (defaults.ParallelDownloads, defaults.ParallelUploads, defaults.DownloadAttempts));

        DistributionOptions set = Berth.Engine.Images.RegistrySettings.Parse(new Dictionary<string, string>
        {
            ["max-concurrent-downloads"] = "1", ["max-concurrent-uploads"] = "0", ["max-download-attempts"] = "2",
        });
        Assert.Equal((1, 0, 2), (set.ParallelDownloads, set.ParallelUploads, set.DownloadAttempts));

        Assert.Equal("invalid max concurrent downloads: -1", Assert.Throws<FormatException>(() => Berth.Engine.Images.RegistrySettings.Parse(new Dictionary<string, string> { ["max-concurrent-downloads"] = "-1" })).Message);
        Assert.Equal("invalid max concurrent uploads: -2", Assert.Throws<FormatException>(() => Berth.Engine.Images.RegistrySettings.Parse(new Dictionary<string, string> { ["max-concurrent-uploads"] = "-2" })).Message);
        Assert.Equal("invalid max download attempts: 0", Assert.Throws<FormatException>(() => Berth.Engine.Images.RegistrySettings.Parse(new Dictionary<string, string> { ["max-download-attempts"] = "0" })).Message);
        Assert.Equal("max-download-attempts must be an integer", Assert.Throws<FormatException>(() => Berth.Engine.Images.RegistrySettings.Parse(new Dictionary<string, string> { ["max-download-attempts"] = "\"3\"" })).Message);
    }

    [Theory]
    [InlineData("https://index.docker.io/v1/", "docker.io")]
    [InlineData("127.0.0.1:5000", "127.0.0.1:5000")]
    [InlineData("http://reg.example:5000/v2/", "reg.example:5000")]
    public void Login_servers_normalise_to_registry_hosts(string server, string expected) =>
        Assert.Equal(expected, RegistryEndpoint.NormalizeServer(server));

    [Fact]
    public void Bearer_challenge_gives_realm_service_and_scope()
    {
        IReadOnlyList<AuthChallenge> challenges = WwwAuthenticate.Parse(
            "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\",scope=\"repository:library/busybox:pull,push\"");

        AuthChallenge bearer = Assert.Single(challenges);
        Assert.Equal("Bearer", bearer.Scheme);
        Assert.Equal("https://auth.docker.io/token", bearer["realm"]);
        Assert.Equal("registry.docker.io", bearer["service"]);
        Assert.Equal("repository:library/busybox:pull,push", bearer["scope"]);
    }

    [Fact]
    public void Several_challenges_unquoted_values_and_escapes_are_parsed()
    {
        IReadOnlyList<AuthChallenge> challenges = WwwAuthenticate.Parse("Basic realm=\"Registry \\\"Realm\\\"\", Bearer realm=https://a/token, service=svc");

        Assert.Equal(2, challenges.Count);
        Assert.Equal("Basic", challenges[0].Scheme);
        Assert.Equal("Registry \"Realm\"", challenges[0]["realm"]);
        Assert.Equal("Bearer", challenges[1].Scheme);
        Assert.Equal("https://a/token", challenges[1]["realm"]);
        Assert.Equal("svc", challenges[1]["service"]);
        Assert.Null(challenges[1]["scope"]);
    }

    [Fact]
    public void Empty_header_has_no_challenge() => Assert.Empty(WwwAuthenticate.Parse(""));

    [Theory]
    [InlineData(null, "linux", "amd64", null)]
    [InlineData("linux/arm64/v8", "linux", "arm64", "v8")]
    [InlineData("linux/arm64", "linux", "arm64", null)]
    public void Platforms_parse_as_os_architecture_variant(string? text, string os, string architecture, string? variant) =>
        Assert.Equal((os, architecture, variant), ImagePuller.ParsePlatform(text));
}
