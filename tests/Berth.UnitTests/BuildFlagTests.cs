using Berth.Build;

namespace Berth.UnitTests;

/// <summary>Instruction flags: the ones the reference gives each instruction parse, any other fails with its line.</summary>
public sealed class BuildFlagTests
{
    [Theory]
    [InlineData("FROM --platform=linux/amd64 busybox")]
    [InlineData("RUN --mount=type=cache,target=/c --network=none --security=sandbox true")]
    [InlineData("COPY --from=build --chown=1:1 --chmod=644 --link --parents --exclude=*.tmp a /b/")]
    [InlineData("ADD --chown=1:1 --chmod=644 --link --keep-git-dir --checksum=sha256:00 --exclude=x --unpack=false a /b/")]
    [InlineData("HEALTHCHECK --interval=1s --timeout=1s --start-period=1s --start-interval=1s --retries=3 CMD true")]
    public void KnownFlagsParse(string line)
    {
        DockerfileDocument document = DockerfileParser.Parse("FROM busybox\n" + line + "\n");
        Assert.NotEmpty(document.Instructions[1].Flags);
    }

    [Theory]
    [InlineData("COPY --bogus=1 a /b", "bogus")]
    [InlineData("ADD --from=stage a /b", "from")]
    [InlineData("RUN --chown=1 true", "chown")]
    [InlineData("FROM --network=host busybox", "network")]
    [InlineData("HEALTHCHECK --retry=3 CMD true", "retry")]
    public void AnUnknownFlagFailsWithItsLine(string line, string flag)
    {
        DockerfileException error = Assert.Throws<DockerfileException>(() => DockerfileParser.Parse("FROM busybox\n\n" + line + "\n"));
        Assert.Equal($"Dockerfile:3: unknown flag: {flag}", error.Message);
    }
}
