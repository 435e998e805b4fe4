using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Berth.IntegrationTests.Infrastructure;

namespace Berth.IntegrationTests;

/// <summary>
/// The builder beyond the classic one: <c>RUN --mount</c> (cache, bind, tmpfs, secret), <c>RUN --network</c>, live
/// step output, stages built in parallel, <c>--cache-from</c>, <c>COPY --link</c> and <c>--pull</c> offline.
/// </summary>
public sealed class BuildRunMountTests(DaemonFixture fixture)
{
    private static readonly TimeSpan BuildBound = TimeSpan.FromMinutes(3);
    private readonly DockerCli _docker = fixture.Docker;

    private sealed class Context : IDisposable
    {
        public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("bt-mount-").FullName;

        public Context Write(string name, string content)
        {
            string path = Path.Combine(Directory, name);
            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, content);
            return this;
        }

        public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
    }

    private Task<CommandResult> BerthAsync(params string[] args) => BerthOnAsync(fixture.Daemon, args);

    private static Task<CommandResult> BerthOnAsync(BerthDaemon daemon, params string[] args) =>
        ProcessRunner.RunAsync(Binaries.Cli, ["-H", "unix://" + daemon.SocketPath, .. args], timeout: BuildBound);

    private static CommandResult Succeeded(CommandResult result)
    {
        Assert.True(result.ExitCode == 0, result.ToString());
        return result;
    }

    [Fact]
    public async Task Run_mounts_give_a_step_a_persistent_cache_a_context_bind_a_stage_bind_a_tmpfs_and_a_secret_and_leave_none_of_them_in_the_image()
    {
        string tag = Names.Unique("mounts");
        string cacheId = Names.Unique("cache");
        const string SecretValue = "s3cret-value-7f3a9c";
        using var context = new Context()
            .Write("data.txt", "from-context\n")
            .Write("Dockerfile", $$"""
                FROM busybox AS tools
                RUN mkdir /tools && echo tool-v1 > /tools/version
                FROM busybox
                ARG RUN_ID
                RUN --mount=type=cache,target=/var/cache/app,id={{cacheId}},mode=0777 echo "run $RUN_ID" >> /var/cache/app/runs && wc -l < /var/cache/app/runs > /runs.count
                RUN --mount=source=data.txt,target=/ctx-mount/data.txt cat /ctx-mount/data.txt > /bound.txt && ! touch /ctx-mount/data.txt 2>/dev/null
                RUN --mount=type=bind,from=tools,source=/tools,target=/t cp /t/version /tool-version
                RUN --mount=type=tmpfs,target=/scratch echo scratch > /scratch/f && grep -q ' /scratch tmpfs ' /proc/mounts && cat /scratch/f > /scratch.seen
                RUN --mount=type=secret,id=token cat /run/secrets/token > /dev/null && sha256sum /run/secrets/token | cut -c1-16 > /secret.checked
                RUN --network=none echo "interfaces: $(tail -n +3 /proc/net/dev | wc -l)"
                """);
        string secretFile = Path.Combine(context.Directory, "..", Path.GetFileName(context.Directory) + ".secret");
        File.WriteAllText(secretFile, SecretValue);
        string saved = Path.Combine(context.Directory, "..", Path.GetFileName(context.Directory) + ".tar");
        try
        {
            CommandResult first = Succeeded(await BerthAsync("build", "--progress", "plain", "--build-arg", "RUN_ID=1", "--secret", "id=token,src=" + secretFile, "-t", tag, context.Directory));
            // The step without a network sees only its loopback interface.
            Assert.Contains("interfaces: 1", first.Stdout, StringComparison.Ordinal);
            string files = (await _docker.SucceedAsync("run", "--rm", tag, "sh", "-c",
                "cat /runs.count /bound.txt /tool-version /scratch.seen /secret.checked; ls -d /var/cache/app /scratch /run/secrets /ctx-mount /t 2>&1 | grep -c 'No such file'")).Stdout;
            string secretHash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(SecretValue)))[..16];
            Assert.Equal($"1\nfrom-context\ntool-v1\nscratch\n{secretHash}\n5\n", files);

            // The secret is in no layer and no history entry.
            Succeeded(await BerthAsync("save", "-o", saved, tag));
            Assert.DoesNotContain(SecretValue, File.ReadAllText(saved, Encoding.Latin1), StringComparison.Ordinal);
            Assert.DoesNotContain(SecretValue, (await _docker.SucceedAsync("history", "--no-trunc", tag)).Stdout, StringComparison.Ordinal);

            // Another build arg reruns the cache step, and the cache directory kept the first run's line.
            Succeeded(await BerthAsync("build", "--build-arg", "RUN_ID=2", "--secret", "id=token,src=" + secretFile, "-t", tag, context.Directory));
            Assert.Equal("2", (await _docker.SucceedAsync("run", "--rm", tag, "cat", "/runs.count")).Stdout.Trim());

            // The same build again: every step from the cache, the secret's step too (its key has no secret in it).
            CommandResult cached = Succeeded(await BerthAsync("build", "--progress", "plain", "--build-arg", "RUN_ID=2", "--secret", "id=token,src=" + secretFile, "-t", tag, context.Directory));
            Assert.DoesNotContain("Running in", cached.Stdout, StringComparison.Ordinal);

            // A changed bind source changes the step's key.
            context.Write("data.txt", "changed");
            CommandResult rebound = Succeeded(await BerthAsync("build", "--progress", "plain", "--build-arg", "RUN_ID=2", "--secret", "id=token,src=" + secretFile, "-t", tag, context.Directory));
            Assert.Contains("Running in", rebound.Stdout, StringComparison.Ordinal);
            Assert.Equal("changed", (await _docker.SucceedAsync("run", "--rm", tag, "cat", "/bound.txt")).Stdout.Trim());

            // builder prune empties the cache mounts: the next run of the step starts a fresh cache.
            CommandResult prune = await _docker.SucceedAsync("builder", "prune", "-f");
            Assert.Contains("Total reclaimed space:", prune.Stdout, StringComparison.Ordinal);
            Succeeded(await BerthAsync("build", "--build-arg", "RUN_ID=3", "--secret", "id=token,src=" + secretFile, "-t", tag, context.Directory));
            Assert.Equal("1", (await _docker.SucceedAsync("run", "--rm", tag, "cat", "/runs.count")).Stdout.Trim());

            // Without the secret, the step that needs it fails.
            CommandResult missing = await BerthAsync("build", "--no-cache", "--build-arg", "RUN_ID=4", context.Directory);
            Assert.NotEqual(0, missing.ExitCode);
        }
        finally
        {
            File.Delete(secretFile);
            File.Delete(saved);
            await _docker.RunAsync("rmi", tag);
        }
    }

    /// <summary>
    /// A listener on the host's loopback that the steps (on the host's network) connect to with nc: each connection
    /// is held until the test releases it (it then gets "go" and is closed), so a step waits on a condition the test
    /// controls, without sleeping.
    /// </summary>
    private sealed class HeldRequests : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly List<TcpClient> _clients = [];

        public HeldRequests() => _listener.Start();

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        /// <summary>Waits (bounded) until <paramref name="count"/> requests are held.</summary>
        public async Task AcceptAsync(int count, TimeSpan bound)
        {
            using var timeout = new CancellationTokenSource(bound);
            while (_clients.Count < count)
            {
                _clients.Add(await _listener.AcceptTcpClientAsync(timeout.Token));
            }
        }

        /// <summary>Answers every held request.</summary>
        public async Task ReleaseAsync()
        {
            foreach (TcpClient client in _clients)
            {
                await client.GetStream().WriteAsync("go\n"u8.ToArray());
                client.Dispose();
            }

            _clients.Clear();
        }

        public void Dispose()
        {
            foreach (TcpClient client in _clients)
            {
                client.Dispose();
            }

            _listener.Stop();
            _listener.Dispose();
        }
    }

    [Fact]
    public async Task Run_output_reaches_the_client_while_the_step_still_runs()
    {
        using var server = new HeldRequests();
        using var context = new Context().Write("Dockerfile", $"""
            FROM busybox
            RUN echo first-line && echo ready | nc 127.0.0.1 {server.Port} && echo second-line
            """);
        var info = new ProcessStartInfo(Binaries.Cli) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in new[] { "-H", "unix://" + fixture.Daemon.SocketPath, "build", "--no-cache", "--progress", "plain", context.Directory })
        {
            info.ArgumentList.Add(arg);
        }

        using var build = Process.Start(info)!;
        Task<string> errors = build.StandardError.ReadToEndAsync();
        try
        {
            // The first line arrives while the step is held on the request: the output was not kept until the step's end.
            var seen = new StringBuilder();
            using (var bound = new CancellationTokenSource(BuildBound))
            using (bound.Token.Register(() => build.Kill(entireProcessTree: true)))
            {
                // Killing the client at the bound ends the read (a pipe read may not heed the token alone).
                while (!seen.ToString().Contains("first-line\n", StringComparison.Ordinal))
                {
                    string? line = await build.StandardOutput.ReadLineAsync(bound.Token);
                    if (line is null)
                    {
                        // Only here: stderr's end comes when the client exits, so awaiting it for every line (as an
                        // assertion message is evaluated) held the test until the bound while the step was held.
                        Assert.Fail("the build ended before printing the first line: " + seen + await errors);
                    }

                    seen.Append(line).Append('\n');
                }
            }

            Assert.DoesNotContain("\nsecond-line\n", seen.ToString(), StringComparison.Ordinal);
            await server.AcceptAsync(1, BuildBound);
            await server.ReleaseAsync();
            string rest = await build.StandardOutput.ReadToEndAsync();
            await build.WaitForExitAsync(new CancellationTokenSource(BuildBound).Token);
            Assert.True(build.ExitCode == 0, seen + rest + await errors);
            Assert.Contains("go\nsecond-line\n", rest, StringComparison.Ordinal);
            Assert.Matches(@"Removing intermediate container [0-9a-f]{12}\n ---> [0-9a-f]{12}\nSuccessfully built", rest);
        }
        finally
        {
            if (!build.HasExited)
            {
                build.Kill(entireProcessTree: true);
            }
        }
    }

    [Fact]
    public async Task Independent_stages_build_at_the_same_time_and_their_output_still_reads_stage_by_stage()
    {
        using var server = new HeldRequests();
        string tag = Names.Unique("parallel");
        using var context = new Context().Write("Dockerfile", $"""
            FROM busybox AS left
            RUN echo left | nc 127.0.0.1 {server.Port} > /left
            FROM busybox AS right
            RUN echo right | nc 127.0.0.1 {server.Port} > /right
            FROM busybox AS unused
            RUN false
            FROM busybox
            COPY --from=left /left /l
            COPY --link --from=right /right /r
            """);
        try
        {
            Task<CommandResult> build = _docker.RunAsync(["build", "--pull", "-t", tag, context.Directory], stdin: null, timeout: BuildBound);
            // Both stages' steps wait on their request at once: only possible when they run side by side.
            await server.AcceptAsync(2, BuildBound);
            await server.ReleaseAsync();
            CommandResult result = await build;
            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.DoesNotContain("RUN false", result.Stdout, StringComparison.Ordinal);
            Assert.Contains("does not pull busybox", result.Stdout, StringComparison.Ordinal);
            int[] steps = [.. Regex.Matches(result.Stdout, @"^Step (\d+)/7 :", RegexOptions.Multiline).Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture))];
            Assert.Equal([1, 2, 3, 4, 5, 6, 7], steps);
            Assert.Equal("go\ngo\n", (await _docker.SucceedAsync("run", "--rm", tag, "cat", "/l", "/r")).Stdout);
        }
        finally
        {
            await _docker.RunAsync("rmi", tag);
        }
    }

    [Fact]
    public async Task Cache_from_a_loaded_image_reuses_its_steps_on_a_daemon_that_never_built_them()
    {
        string tag = Names.Unique("cachefrom");
        using var context = new Context()
            .Write("app.txt", "app")
            .Write("Dockerfile", """
                FROM busybox
                ENV MODE=cached
                COPY app.txt /app.txt
                RUN echo ran-once > /ran
                CMD ["cat", "/ran"]
                """);
        string archive = Path.Combine(context.Directory, "..", Path.GetFileName(context.Directory) + ".tar");
        await using BerthDaemon other = BerthDaemon.Create("cachefrom");
        try
        {
            Succeeded(await BerthAsync("build", "-t", tag, context.Directory));
            Succeeded(await BerthAsync("save", "-o", archive, "busybox", tag));
            await other.StartAsync();
            Succeeded(await BerthOnAsync(other, "load", "-i", archive));

            CommandResult build = Succeeded(await BerthOnAsync(other, "build", "--progress", "plain", "--cache-from", tag, "-t", tag + "-rebuilt", context.Directory));
            Assert.Equal(4, Regex.Count(build.Stdout, " ---> Using cache"));
            Assert.DoesNotContain("Running in", build.Stdout, StringComparison.Ordinal);
            Assert.Equal("ran-once", (await other.Docker.SucceedAsync("run", "--rm", tag + "-rebuilt")).Stdout.Trim());

            // Without --cache-from the same daemon runs the steps.
            CommandResult cold = Succeeded(await BerthOnAsync(other, "build", "--progress", "plain", "--no-cache", context.Directory));
            Assert.Contains("Running in", cold.Stdout, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(archive);
            await _docker.RunAsync("rmi", tag);
        }
    }
}
