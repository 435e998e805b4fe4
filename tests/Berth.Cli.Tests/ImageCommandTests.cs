using Berth.Api.Types;
using Berth.Cli.Commands;

namespace Berth.Cli.Tests;

public sealed class ImageCommandTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 10, 0, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("app", "app", null)]
    [InlineData("app:v1", "app", "v1")]
    [InlineData("localhost:5000/team/app", "localhost:5000/team/app", null)]
    [InlineData("localhost:5000/team/app:v2", "localhost:5000/team/app", "v2")]
    public void Tag_targets_split_at_a_colon_after_the_last_slash(string reference, string repository, string? tag) =>
        Assert.Equal((repository, tag), ImageCommands.SplitTag(reference));

    [Fact]
    public void History_renders_docker_s_table_with_missing_and_truncated_created_by()
    {
        HistoryResponseItem[] history =
        [
            new() { Id = "sha256:" + new string('a', 64), Created = Now.AddDays(-2).ToUnixTimeSeconds(), CreatedBy = "CMD [\"sh\"]", Tags = ["busybox:latest"] },
            new() { Id = "<missing>", Created = Now.AddDays(-2).ToUnixTimeSeconds(), CreatedBy = "/bin/sh -c #(nop) ADD file:0123456789abcdef0123456789abcdef in /", Size = 1_234_567 },
        ];
        IEnumerable<object?> rows = history.Select(h => (object?)new HistoryRow(h, truncate: true, human: true, Now, TimeZoneInfo.Utc));

        string table = ListFormat.Render(ListFormat.Resolve(null, HistoryRow.DefaultTable), rows, HistoryRow.Header);

        string[] lines = table.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$", lines[0]);
        Assert.Matches(@"^aaaaaaaaaaaa\s+2 days ago\s+CMD \[""sh""\]\s+0B\s*$", lines[1]);
        Assert.Matches(@"^<missing>\s+2 days ago\s+/bin/sh -c #\(nop\) ADD file:0123456789abcdef0…\s+1\.23MB\s*$", lines[2]);
    }

    [Fact]
    public void History_without_human_prints_rfc3339_and_bytes()
    {
        var item = new HistoryResponseItem { Id = "<missing>", Created = 1_700_000_000, CreatedBy = "x", Size = 1234 };
        var row = new HistoryRow(item, truncate: false, human: false, Now, TimeZoneInfo.Utc);

        Assert.True(row.TryGetField("CreatedSince", [], out object? created));
        Assert.Equal("2023-11-14T22:13:20Z", created);
        Assert.True(row.TryGetField("Size", [], out object? size));
        Assert.Equal("1234", size);
    }

    [Fact]
    public void Prune_report_lists_untagged_and_deleted_then_the_space()
    {
        var report = new ImagePruneResponse
        {
            ImagesDeleted = [new() { Untagged = "app:v1" }, new() { Deleted = "sha256:abc" }],
            SpaceReclaimed = 1_093_000,
        };

        Assert.Equal("Deleted Images:\nuntagged: app:v1\ndeleted: sha256:abc\n\nTotal reclaimed space: 1.093MB\n", ImageCommands.PruneReport(report));
        Assert.Equal("Total reclaimed space: 0B\n", ImageCommands.PruneReport(new ImagePruneResponse { SpaceReclaimed = 5000 }));
    }

    [Fact]
    public async Task Prune_without_force_asks_and_does_nothing_on_no()
    {
        using var console = new TestConsole();

        int code = await console.RunAsync("image", "prune");

        Assert.Equal(0, code);
        Assert.Equal("WARNING! This will remove all dangling images.\nAre you sure you want to continue? [y/N] ", console.StdoutText);
    }
}
