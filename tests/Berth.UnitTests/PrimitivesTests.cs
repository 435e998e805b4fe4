using Berth.Primitives;

namespace Berth.UnitTests;

public class ImageReferenceTests
{
    private const string Hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    [Theory]
    // Docker's own normalisation (distribution/reference ParseNormalizedNamed + TagNameOnly).
    [InlineData("busybox", "docker.io", "library/busybox", "latest", "docker.io/library/busybox:latest", "busybox:latest")]
    [InlineData("busybox:1.36", "docker.io", "library/busybox", "1.36", "docker.io/library/busybox:1.36", "busybox:1.36")]
    [InlineData("library/busybox", "docker.io", "library/busybox", "latest", "docker.io/library/busybox:latest", "busybox:latest")]
    [InlineData("docker.io/busybox", "docker.io", "library/busybox", "latest", "docker.io/library/busybox:latest", "busybox:latest")]
    [InlineData("docker.io/library/busybox:latest", "docker.io", "library/busybox", "latest", "docker.io/library/busybox:latest", "busybox:latest")]
    [InlineData("index.docker.io/busybox", "docker.io", "library/busybox", "latest", "docker.io/library/busybox:latest", "busybox:latest")]
    [InlineData("user/app", "docker.io", "user/app", "latest", "docker.io/user/app:latest", "user/app:latest")]
    [InlineData("user/app:v2", "docker.io", "user/app", "v2", "docker.io/user/app:v2", "user/app:v2")]
    [InlineData("localhost/app", "localhost", "app", "latest", "localhost/app:latest", "localhost/app:latest")]
    [InlineData("localhost:5000/a/b:tag", "localhost:5000", "a/b", "tag", "localhost:5000/a/b:tag", "localhost:5000/a/b:tag")]
    [InlineData("registry.example.com:5000/team/app", "registry.example.com:5000", "team/app", "latest", "registry.example.com:5000/team/app:latest", "registry.example.com:5000/team/app:latest")]
    [InlineData("quay.io/coreos/etcd:v3.5.0", "quay.io", "coreos/etcd", "v3.5.0", "quay.io/coreos/etcd:v3.5.0", "quay.io/coreos/etcd:v3.5.0")]
    [InlineData("Registry.Example.com/app", "Registry.Example.com", "app", "latest", "Registry.Example.com/app:latest", "Registry.Example.com/app:latest")]
    [InlineData("Foo/bar", "Foo", "bar", "latest", "Foo/bar:latest", "Foo/bar:latest")] // an uppercase first component is a domain
    [InlineData("localhost:5000", "docker.io", "library/localhost", "5000", "docker.io/library/localhost:5000", "localhost:5000")] // a name with a tag, not a registry
    [InlineData("a-b.c.d/e--f__g.h", "a-b.c.d", "e--f__g.h", "latest", "a-b.c.d/e--f__g.h:latest", "a-b.c.d/e--f__g.h:latest")]
    [InlineData("[::1]:5000/app", "[::1]:5000", "app", "latest", "[::1]:5000/app:latest", "[::1]:5000/app:latest")]
    public void ParseNormalisesLikeDocker(string text, string domain, string path, string tag, string full, string familiar)
    {
        ImageReference reference = ImageReference.Parse(text);

        Assert.Equal(domain, reference.Domain);
        Assert.Equal(path, reference.Path);
        Assert.Equal(tag, reference.Tag);
        Assert.Null(reference.Digest);
        Assert.Equal(full, reference.ToString());
        Assert.Equal(familiar, reference.FamiliarString);
        Assert.Equal($"{domain}/{path}", reference.Name);
    }

    [Fact]
    public void DigestOnlyReferenceHasNoTag()
    {
        ImageReference reference = ImageReference.Parse($"busybox@sha256:{Hex}");

        Assert.Equal("docker.io/library/busybox", reference.Name);
        Assert.Null(reference.Tag);
        Assert.Equal($"sha256:{Hex}", reference.Digest);
        Assert.Equal($"docker.io/library/busybox@sha256:{Hex}", reference.ToString());
        Assert.Equal($"busybox@sha256:{Hex}", reference.FamiliarString);
    }

    [Fact]
    public void TagAndDigestAreBothKept()
    {
        ImageReference reference = ImageReference.Parse($"localhost:5000/app:1.0@sha256:{Hex}");

        Assert.Equal("localhost:5000", reference.Domain);
        Assert.Equal("app", reference.Path);
        Assert.Equal("1.0", reference.Tag);
        Assert.Equal($"sha256:{Hex}", reference.Digest);
        Assert.Equal($"localhost:5000/app:1.0@sha256:{Hex}", reference.ToString());
        Assert.Equal($"localhost:5000/app:1.0@sha256:{Hex}", reference.FamiliarString);
    }

    [Fact]
    public void FamiliarNameDropsOnlyTheDefaultDomainAndLibrary()
    {
        Assert.Equal("busybox", ImageReference.Parse("busybox").FamiliarName);
        Assert.Equal("user/app", ImageReference.Parse("docker.io/user/app").FamiliarName);
        Assert.Equal("ghcr.io/library/app", ImageReference.Parse("ghcr.io/library/app").FamiliarName);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("Busybox")] // repository names must be lowercase
    [InlineData("user/App")]
    [InlineData("docker.io/library/BUSYBOX")]
    [InlineData("busybox:")] // empty tag
    [InlineData("busybox:-bad")] // a tag starts with a word character
    [InlineData("busybox:.bad")]
    [InlineData("busybox:a+b")]
    [InlineData("busybox:t\u00e9")] // Go's \w is ASCII only
    [InlineData("busybox:a:b")]
    [InlineData("busybox@sha256:abc")] // short digest
    [InlineData("busybox@sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855")]
    [InlineData("busybox@md5:d41d8cd98f00b204e9800998ecf8427e")]
    [InlineData("busybox@")]
    [InlineData("@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [InlineData("/busybox")]
    [InlineData("busybox/")]
    [InlineData("a//b")]
    [InlineData("-busybox")]
    [InlineData("busy_-box")]
    [InlineData("busy...box")]
    [InlineData("busybox\n")] // .NET's $ would match before a final newline; Go's does not
    [InlineData("busybox:latest\n")]
    [InlineData("localhost:5000\n/app")]
    [InlineData("busybox:tag/sub")] // "busybox:tag" would be a registry with a non-numeric port
    [InlineData("exa_mple.com/app")] // an invalid registry host
    [InlineData("-example.com/app")]
    [InlineData("localhost:port/app")]
    [InlineData("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")] // Docker: cannot specify 64-byte hexadecimal strings
    public void TryParseRejectsWhatDockerRejects(string text)
    {
        Assert.False(ImageReference.TryParse(text, out ImageReference? reference), $"{text} parsed as {reference}");
    }

    [Fact]
    public void TryParseRejectsNull()
    {
        Assert.False(ImageReference.TryParse(null, out _));
    }

    [Fact]
    public void TagsUpTo128CharactersAreAccepted()
    {
        string longest = "a" + new string('b', 127);

        Assert.Equal(longest, ImageReference.Parse("busybox:" + longest).Tag);
        Assert.False(ImageReference.TryParse("busybox:" + longest + "c", out _));
    }

    [Fact]
    public void NamesLongerThan255CharactersAreRejected()
    {
        // docker.io/library/ + 237 characters is exactly 255.
        string fits = new('a', 255 - "docker.io/library/".Length);

        Assert.True(ImageReference.TryParse(fits, out _));
        Assert.False(ImageReference.TryParse(fits + "a", out _));
    }

    [Fact]
    public void ParseThrowsInvalidArgument()
    {
        EngineException e = Assert.Throws<EngineException>(() => ImageReference.Parse("Busybox"));

        Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
        Assert.Contains("invalid reference format", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReparsingTheNormalisedFormGivesTheSameReference()
    {
        foreach (string text in new[] { "busybox", "user/app:v2", "localhost:5000/a/b:tag", $"busybox@sha256:{Hex}" })
        {
            ImageReference once = ImageReference.Parse(text);
            Assert.Equal(once, ImageReference.Parse(once.ToString()));
            Assert.Equal(once, ImageReference.Parse(once.FamiliarString));
        }
    }
}

public class DigestTests
{
    private const string Hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    [Fact]
    public void ParsesSha256()
    {
        Assert.True(Digest.TryParse($"sha256:{Hex}", out Digest digest));
        Assert.Equal("sha256", digest.Algorithm);
        Assert.Equal(Hex, digest.Hex);
        Assert.Equal($"sha256:{Hex}", digest.ToString());
    }

    [Fact]
    public void ParsesSha512()
    {
        string hex = new('a', 128);

        Assert.True(Digest.TryParse($"sha512:{hex}", out Digest digest));
        Assert.Equal("sha512", digest.Algorithm);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("sha256")]
    [InlineData("sha256:")]
    [InlineData(":e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [InlineData("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [InlineData("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855")] // uppercase
    [InlineData("sha256:E3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [InlineData("SHA256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [InlineData("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85")] // 63
    [InlineData("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555")] // 65
    [InlineData("sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")] // 64 for sha512
    [InlineData("md5:d41d8cd98f00b204e9800998ecf8427e")]
    [InlineData("sha256:../../../../etc/passwd")]
    [InlineData("sha256:../e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b785")]
    [InlineData("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b/..")]
    [InlineData("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85 ")]
    [InlineData("sha256:g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    public void TryParseRejects(string? text)
    {
        Assert.False(Digest.TryParse(text, out _));
    }

    [Fact]
    public void ParseThrowsInvalidArgument()
    {
        EngineException e = Assert.Throws<EngineException>(() => Digest.Parse("sha256:../x"));
        Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
    }

    [Fact]
    public void Sha256OfMatchesTheKnownEmptyDigest()
    {
        Assert.Equal($"sha256:{Hex}", Digest.Sha256Of([]).ToString());
        Assert.Equal("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", Digest.Sha256Of("abc"u8).ToString());
    }

    [Fact]
    public void DigestsCompareByValue()
    {
        Assert.Equal(Digest.Parse($"sha256:{Hex}"), Digest.Sha256Of([]));
        Assert.NotEqual(Digest.Parse($"sha256:{Hex}"), Digest.Sha256Of("abc"u8));
    }
}

public class IdsTests
{
    [Fact]
    public void NewIdIs64LowercaseHexAndUnique()
    {
        var seen = new HashSet<string>();
        for (int i = 0; i < 100; i++)
        {
            string id = Ids.NewId();
            Assert.Equal(64, id.Length);
            Assert.True(Ids.IsHexPrefix(id));
            Assert.All(id, c => Assert.True(c is (>= '0' and <= '9') or (>= 'a' and <= 'f')));
            Assert.True(seen.Add(id));
        }
    }

    [Theory]
    [InlineData("0123456789abcdef0123", "0123456789ab")]
    [InlineData("0123456789ab", "0123456789ab")]
    [InlineData("abc", "abc")]
    [InlineData("", "")]
    public void ShortTruncatesTo12(string id, string expected)
    {
        Assert.Equal(expected, Ids.Short(id));
    }

    [Theory]
    [InlineData("a", true)]
    [InlineData("0123456789abcdef", true)]
    [InlineData("", false)]
    [InlineData("ABC", false)]
    [InlineData("abg", false)]
    [InlineData("sha256:abc", false)]
    [InlineData("../abc", false)]
    public void IsHexPrefix(string text, bool expected)
    {
        Assert.Equal(expected, Ids.IsHexPrefix(text));
    }

    [Fact]
    public void IsHexPrefixRejectsMoreThan64Characters()
    {
        Assert.True(Ids.IsHexPrefix(new string('a', 64)));
        Assert.False(Ids.IsHexPrefix(new string('a', 65)));
    }
}

public class SecureRandomTests
{
    [Fact]
    public void Ids_are_64_hex_characters_and_never_repeat()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < 200; i++)
        {
            string id = Ids.NewId();
            Assert.Equal(64, id.Length);
            Assert.True(Ids.IsHexPrefix(id), id);
            Assert.True(seen.Add(id), $"repeated id {id}");
        }
    }

    [Fact]
    public void GetInt32_stays_in_range_and_reaches_every_value()
    {
        var counts = new int[7];
        for (int i = 0; i < 7000; i++)
        {
            counts[SecureRandom.GetInt32(7)]++;
        }

        // Each value expects 1000; a uniform source lands below 800 with negligible probability (~10 sigma).
        Assert.All(counts, c => Assert.InRange(c, 800, 1200));
        Assert.Equal(0, SecureRandom.GetInt32(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => SecureRandom.GetInt32(0));
    }

    [Fact]
    public void Fill_writes_every_byte_of_a_long_span()
    {
        byte[] bytes = new byte[4096];
        SecureRandom.Fill(bytes);
        // 4096 random bytes hold each of the 256 values about 16 times; a zeroed tail would show as far too many zeros.
        Assert.InRange(bytes.Count(b => b == 0), 0, 60);
        Assert.InRange(bytes.Distinct().Count(), 200, 256);
    }
}
