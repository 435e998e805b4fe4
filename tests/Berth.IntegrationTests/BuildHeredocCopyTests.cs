using Berth.IntegrationTests.Infrastructure;

namespace Berth.IntegrationTests;

/// <summary>COPY with here-documents as sources (issue 8, the reference's "Creating inline files"), through the docker CLI.</summary>
public sealed class BuildHeredocCopyTests(DaemonFixture fixture)
{
    private readonly DockerCli _docker = fixture.Docker;

    [Fact]
    public async Task Copy_here_documents_become_files_expanded_unless_quoted_tabs_stripped_with_a_dash_and_cached_by_content()
    {
        string tag = Names.Unique("heredoc");
        string work = Directory.CreateTempSubdirectory("bt-heredoc-").FullName;
        File.WriteAllText(Path.Combine(work, "EOT"), "a context file of the same name: not what COPY <<EOT copies\n");
        void WriteDockerfile(string greeting) => File.WriteAllText(Path.Combine(work, "Dockerfile"),
            "FROM busybox\n" +
            "ARG FOO=bar\n" +
            "COPY <<EOT /hello.txt\n" +
            $"{greeting} ${{FOO}} \"quoted\"\n" +
            "EOT\n" +
            "COPY <<-\"RAW\" /raw.sh\n" +
            "\techo \"hello ${FOO}\"\n" +
            "\tRAW\n" +
            "COPY <<ONE <<TWO /dir/\n" +
            "first\n" +
            "ONE\n" +
            "second\n" +
            "TWO\n" +
            "CMD [\"sh\", \"-c\", \"cat /hello.txt /raw.sh /dir/ONE /dir/TWO && stat -c '%a %u' /hello.txt /dir/ONE\"]\n");
        try
        {
            WriteDockerfile("hello");
            await _docker.SucceedAsync("build", "-t", tag, work);
            Assert.Equal(
                "hello bar \"quoted\"\necho \"hello ${FOO}\"\nfirst\nsecond\n644 0\n644 0\n",
                (await _docker.SucceedAsync("run", "--rm", tag)).Stdout.Replace("\r", "", StringComparison.Ordinal));

            CommandResult again = await _docker.SucceedAsync("build", "-t", tag, work);
            Assert.Equal(5, System.Text.RegularExpressions.Regex.Count(again.Stdout, " ---> Using cache")); // ARG, three COPYs, CMD

            WriteDockerfile("howdy");
            CommandResult changed = await _docker.SucceedAsync("build", "-t", tag, work);
            Assert.Equal(1, System.Text.RegularExpressions.Regex.Count(changed.Stdout, " ---> Using cache")); // ARG only: the document changed
            Assert.StartsWith("howdy bar", (await _docker.SucceedAsync("run", "--rm", tag)).Stdout, StringComparison.Ordinal);
        }
        finally
        {
            await _docker.RunAsync("rmi", tag);
            Directory.Delete(work, recursive: true);
        }
    }
}
