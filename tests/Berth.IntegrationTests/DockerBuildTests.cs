using System.Diagnostics;
using System.Text.RegularExpressions;
using Berth.IntegrationTests.Infrastructure;

namespace Berth.IntegrationTests;

/// <summary>`docker build` (the classic builder, DOCKER_BUILDKIT=0) and `berth build` against berthd, on busybox only.</summary>
public sealed class DockerBuildTests(DaemonFixture fixture)
{
    private readonly DockerCli _docker = fixture.Docker;

    /// <summary>A build context in a temp directory, deleted at the end of the test.</summary>
    private sealed class Context : IDisposable
    {
        public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("bt-build-").FullName;

        public Context Write(string name, string content)
        {
            string path = Path.Combine(Directory, name);
            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, content);
            return this;
        }

        public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
    }

    private Task<CommandResult> BerthAsync(params string[] args) =>
        ProcessRunner.RunAsync(Binaries.Cli, ["-H", "unix://" + fixture.Daemon.SocketPath, .. args]);

    private static int Count(string text, string what) => Regex.Count(text, Regex.Escape(what));

    [Fact]
    public async Task Multi_step_build_runs_with_its_config_rebuilds_from_cache_and_a_changed_copy_source_invalidates_from_there()
    {
        string tag = Names.Unique("build");
        using var context = new Context()
            .Write("Dockerfile", """
                FROM busybox
                ENV GREETING=hello
                WORKDIR /app
                COPY greet.sh data.txt ./
                RUN chmod +x greet.sh && echo built > stamp
                CMD ["./greet.sh"]
                """)
            .Write("greet.sh", "#!/bin/sh\necho \"$GREETING $(cat data.txt) $(cat stamp) $(pwd)\"\n")
            .Write("data.txt", "world");
        try
        {
            CommandResult first = await _docker.SucceedAsync("build", "-t", tag, context.Directory);
            Assert.Contains("Step 1/6 : FROM busybox", first.Stdout, StringComparison.Ordinal);
            Assert.Contains("Step 5/6 : RUN chmod +x greet.sh && echo built > stamp", first.Stdout, StringComparison.Ordinal);
            Assert.Contains($"Successfully tagged {tag}:latest", first.Stdout, StringComparison.Ordinal);
            string id = Regex.Match(first.Stdout, @"Successfully built ([0-9a-f]{12})").Groups[1].Value;
            Assert.NotEmpty(id);

            Assert.Equal("hello world built /app", (await _docker.SucceedAsync("run", "--rm", tag)).Stdout.Trim());
            string config = (await _docker.SucceedAsync("image", "inspect", "--format", "{{json .Config.Env}} {{.Config.WorkingDir}} {{json .Config.Cmd}}", tag)).Stdout;
            Assert.Contains("GREETING=hello", config, StringComparison.Ordinal);
            Assert.Contains("/app [\"./greet.sh\"]", config, StringComparison.Ordinal);
            string history = (await _docker.SucceedAsync("history", "--no-trunc", "--format", "{{.CreatedBy}}", tag)).Stdout;
            Assert.Contains("/bin/sh -c chmod +x greet.sh && echo built > stamp", history, StringComparison.Ordinal);

            var watch = Stopwatch.StartNew();
            CommandResult cached = await _docker.SucceedAsync("build", "-t", tag, context.Directory);
            watch.Stop();
            Assert.Equal(5, Count(cached.Stdout, " ---> Using cache"));
            Assert.DoesNotContain("Running in", cached.Stdout, StringComparison.Ordinal);
            Assert.Contains($"Successfully built {id}", cached.Stdout, StringComparison.Ordinal);
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"a fully cached rebuild took {watch.Elapsed}");

            context.Write("data.txt", "changed");
            CommandResult changed = await _docker.SucceedAsync("build", "-t", tag, context.Directory);
            Assert.Equal(2, Count(changed.Stdout, " ---> Using cache"));
            Assert.Contains("Running in", changed.Stdout, StringComparison.Ordinal);
            Assert.Equal("hello changed built /app", (await _docker.SucceedAsync("run", "--rm", tag)).Stdout.Trim());

            CommandResult noCache = await _docker.SucceedAsync("build", "--no-cache", "-q", context.Directory);
            Assert.Matches("^sha256:[0-9a-f]{64}$", noCache.Stdout.Trim());
        }
        finally
        {
            await _docker.RunAsync("rmi", tag);
        }
    }

    [Fact]
    public async Task A_failing_run_fails_the_build_with_docker_s_message_and_leaves_no_image_or_container()
    {
        string tag = Names.Unique("buildfail");
        using var context = new Context().Write("Dockerfile", "FROM busybox\nRUN echo about to fail && false\n");
        CommandResult result = await _docker.RunAsync("build", "-t", tag, context.Directory);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("about to fail", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("The command '/bin/sh -c echo about to fail && false' returned a non-zero code: 1", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Successfully built", result.Stdout, StringComparison.Ordinal);

        string container = Regex.Match(result.Stdout, @"Running in ([0-9a-f]{12})").Groups[1].Value;
        Assert.NotEmpty(container);
        Assert.DoesNotContain(container, (await _docker.SucceedAsync("ps", "-a", "-q")).Stdout, StringComparison.Ordinal);
        Assert.NotEqual(0, (await _docker.RunAsync("image", "inspect", tag)).ExitCode);
    }

    [Fact]
    public async Task Multi_stage_build_copies_from_a_stage_skips_unused_ones_and_honours_target_and_build_args()
    {
        string tag = Names.Unique("stages");
        using var context = new Context().Write("Dockerfile", """
            ARG BASE=busybox
            FROM $BASE AS builder
            ARG MESSAGE=default
            RUN mkdir /out && echo "$MESSAGE" > /out/msg
            FROM busybox AS unused
            RUN false
            from busybox
            COPY --from=builder /out/msg /msg
            CMD ["cat", "/msg"]
            """);
        try
        {
            CommandResult build = await _docker.SucceedAsync("build", "--build-arg", "MESSAGE=from-arg", "-t", tag, context.Directory);
            Assert.DoesNotContain("RUN false", build.Stdout, StringComparison.Ordinal);
            Assert.Equal("from-arg", (await _docker.SucceedAsync("run", "--rm", tag)).Stdout.Trim());

            // Another value of a build arg in scope is another cache key.
            await _docker.SucceedAsync("build", "--build-arg", "MESSAGE=second", "-t", tag, context.Directory);
            Assert.Equal("second", (await _docker.SucceedAsync("run", "--rm", tag)).Stdout.Trim());

            await _docker.SucceedAsync("build", "--target", "builder", "-t", tag + ":builder", context.Directory);
            Assert.Equal("default", (await _docker.SucceedAsync("run", "--rm", tag + ":builder", "cat", "/out/msg")).Stdout.Trim());
            Assert.NotEqual(0, (await _docker.RunAsync("run", "--rm", tag + ":builder", "cat", "/msg")).ExitCode);
        }
        finally
        {
            await _docker.RunAsync("rmi", tag, tag + ":builder");
        }
    }

    [Fact]
    public async Task A_broken_dockerfile_fails_with_its_line_number()
    {
        using var context = new Context().Write("Dockerfile", "FROM busybox\n\nRUNN echo\n");
        CommandResult result = await _docker.RunAsync("build", context.Directory);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("Dockerfile:3: unknown instruction: RUNN", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Berth_build_honours_dockerignore_dockerfile_outside_the_context_copy_flags_add_archives_and_stays_inside_the_context()
    {
        string tag = Names.Unique("berthbuild");
        using var context = new Context()
            .Write(".dockerignore", "# build junk\n*.log\nsecret/**\n!secret/public.txt\n")
            .Write("keep.txt", "kept")
            .Write("debug.log", "ignored")
            .Write("secret/key.pem", "hidden")
            .Write("secret/public.txt", "public")
            .Write("lib/a.conf", "a")
            .Write("lib/b.conf", "b")
            .Write("lib/c.txt", "c");
        using var outside = new Context().Write("Build.dockerfile", """
            FROM busybox
            COPY keep.txt /keep/
            COPY --chown=1000:1001 --chmod=600 lib/*.conf /conf/
            COPY secret /secret/
            ADD files.tar /unpacked/
            RUN ls /secret > /secret.list; stat -c '%u:%g %a' /conf/a.conf > /conf.stat
            CMD ["sh", "-c", "cat /keep/keep.txt /secret.list /conf.stat /unpacked/inner.txt; ls /conf; ls /debug.log 2>&1; true"]
            """)
            .Write("Escape.dockerfile", "FROM busybox\nCOPY escape /escape\n")
            .Write("Parent.dockerfile", "FROM busybox\nCOPY ../host-secret /escape\n");
        // A tar to ADD (auto-extracted) and a symlink that points out of the context, at a file outside it.
        string tarSource = Path.Combine(outside.Directory, "tarsrc");
        Directory.CreateDirectory(tarSource);
        File.WriteAllText(Path.Combine(tarSource, "inner.txt"), "from-tar");
        System.Formats.Tar.TarFile.CreateFromDirectory(tarSource, Path.Combine(context.Directory, "files.tar"), includeBaseDirectory: false);
        outside.Write("host-secret", "must-not-leak");
        File.CreateSymbolicLink(Path.Combine(context.Directory, "escape"), Path.Combine(outside.Directory, "host-secret"));
        try
        {
            string iid = Path.Combine(outside.Directory, "iid");
            CommandResult build = await BerthAsync("build", "-t", tag, "-f", Path.Combine(outside.Directory, "Build.dockerfile"), "--iidfile", iid, context.Directory);
            Assert.True(build.ExitCode == 0, build.ToString());
            Assert.Contains("Step 1/7 : FROM busybox", build.Stdout, StringComparison.Ordinal);
            Assert.Matches("^sha256:[0-9a-f]{64}$", File.ReadAllText(iid));
            string output = (await _docker.SucceedAsync("run", "--rm", tag)).Stdout;
            Assert.Contains("kept", output, StringComparison.Ordinal);
            Assert.Contains("public.txt", output, StringComparison.Ordinal);
            Assert.DoesNotContain("key.pem", output, StringComparison.Ordinal);
            Assert.Contains("1000:1001 600", output, StringComparison.Ordinal);
            Assert.Contains("from-tar", output, StringComparison.Ordinal);
            // Only the wildcard's matches: lib/c.txt is not among them.
            Assert.Contains("a.conf\nb.conf\nls:", output, StringComparison.Ordinal);
            Assert.Contains("No such file", output, StringComparison.Ordinal);

            // A symlink pointing out of the context, and a ../ source, resolve inside it: nothing outside can be read.
            foreach (string dockerfile in new[] { "Escape.dockerfile", "Parent.dockerfile" })
            {
                CommandResult escape = await BerthAsync("build", "-f", Path.Combine(outside.Directory, dockerfile), context.Directory);
                Assert.Equal(1, escape.ExitCode);
                Assert.Contains("file not found in build context", escape.Stderr, StringComparison.Ordinal);
                Assert.DoesNotContain("must-not-leak", escape.Stdout + escape.Stderr, StringComparison.Ordinal);
            }
        }
        finally
        {
            await _docker.RunAsync("rmi", tag);
        }
    }
}
