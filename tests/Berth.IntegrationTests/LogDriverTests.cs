using System.Text.RegularExpressions;
using Berth.IntegrationTests.Infrastructure;

namespace Berth.IntegrationTests;

/// <summary>json-file rotation (--log-opt max-size/max-file) written by the monitor, read back across files; --log-driver none.</summary>
public sealed partial class LogDriverTests(DaemonFixture fixture)
{
    private readonly DockerCli _docker = fixture.Docker;

    [Fact]
    public async Task Rotation_keeps_max_file_files_of_about_max_size_and_logs_reads_the_newest_lines_in_order()
    {
        string name = Names.Unique("rotate");
        try
        {
            // 3000 entries of about 100 bytes: ten times what three files of 10 KiB hold.
            CommandResult run = await _docker.RunAsync("run", "--name", name, "--log-opt", "max-size=10k", "--log-opt", "max-file=3", "busybox",
                "sh", "-c", "i=0; while [ $i -lt 3000 ]; do echo line-$i-abcdefghijklmnopqrstuvwxyz; i=$((i+1)); done");
            Assert.True(run.ExitCode == 0, run.ToString());

            string logPath = (await _docker.SucceedAsync("inspect", "-f", "{{.LogPath}}", name)).Stdout.Trim();
            string[] files = [.. Directory.GetFiles(Path.GetDirectoryName(logPath)!, Path.GetFileName(logPath) + "*").Order(StringComparer.Ordinal)];
            Assert.Equal([logPath, logPath + ".1", logPath + ".2"], files);
            foreach (string file in files.Skip(1))
            {
                long size = new FileInfo(file).Length;
                Assert.InRange(size, 10 * 1024, (10 * 1024) + 200);
            }

            Assert.InRange(new FileInfo(logPath).Length, 0, (10 * 1024) + 200);

            CommandResult logs = await _docker.SucceedAsync("logs", name);
            int[] numbers = [.. logs.Stdout.TrimEnd('\n').Split('\n').Select(l => int.Parse(LineNumber().Match(l).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture))];
            Assert.Equal(2999, numbers[^1]);
            Assert.InRange(numbers.Length, 200, 400); // about 30 KiB of ~100-byte entries
            Assert.Equal(Enumerable.Range(numbers[0], numbers.Length), numbers);

            CommandResult tail = await _docker.SucceedAsync("logs", "--tail", "2", name);
            Assert.Equal("line-2998-abcdefghijklmnopqrstuvwxyz\nline-2999-abcdefghijklmnopqrstuvwxyz\n", tail.Stdout);
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(name);
        }
    }

    [Fact]
    public async Task Log_driver_none_writes_no_file_and_logs_refuses_with_dockers_message()
    {
        string name = Names.Unique("nolog");
        try
        {
            CommandResult run = await _docker.RunAsync("run", "--name", name, "--log-driver", "none", "busybox", "echo", "hello");
            Assert.True(run.ExitCode == 0, run.ToString());
            Assert.Equal("hello\n", run.Stdout); // attached output still flows

            string id = (await _docker.SucceedAsync("inspect", "-f", "{{.Id}} {{.HostConfig.LogConfig.Type}}", name)).Stdout.Trim();
            Assert.EndsWith(" none", id, StringComparison.Ordinal);
            Assert.False(File.Exists(Path.Combine(fixture.Daemon.DataRoot, "containers", id.Split(' ')[0], id.Split(' ')[0] + "-json.log")));

            CommandResult logs = await _docker.RunAsync("logs", name);
            Assert.Equal(1, logs.ExitCode);
            Assert.Contains("configured logging driver does not support reading", logs.Stderr, StringComparison.Ordinal);

            CommandResult bad = await _docker.RunAsync("create", "--log-driver", "bogus", "busybox");
            Assert.NotEqual(0, bad.ExitCode);
            Assert.Contains("no log driver named 'bogus' is registered", bad.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            await _docker.RemoveQuietlyAsync(name);
        }
    }

    [GeneratedRegex(@"^line-(\d+)-")]
    private static partial Regex LineNumber();
}
