using Berth.Api.Types;

namespace Berth.Cli.Tests;

public class FormattingTests
{
    private static readonly DateTimeOffset Now = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Tabwriter_pads_columns_like_docker()
    {
        TabWriter w = TabWriter.ForTables();
        w.Write("CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES\n");
        Assert.Equal("CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n", w.Flush());
    }

    [Fact]
    public void Tabwriter_sizes_columns_over_all_rows_and_leaves_the_last_cell_unpadded()
    {
        TabWriter w = TabWriter.ForTables();
        w.Write("A\tB\tC\n");
        w.Write("a-much-longer-cell\tb\tlast\n");
        Assert.Equal(
            "A                    B         C\n" +
            "a-much-longer-cell   b         last\n",
            w.Flush());
    }

    [Fact]
    public void Tabwriter_counts_runes_not_bytes()
    {
        var w = new TabWriter(0, 1);
        w.Write("\"sh -c 'echo hell…\"\tx\n");
        w.Write("a\ty\n");
        Assert.Equal("\"sh -c 'echo hell…\" x\na                   y\n", w.Flush());
    }

    [Fact]
    public void Tabwriter_line_without_tabs_breaks_column_blocks()
    {
        var w = new TabWriter(0, 1);
        w.Write("Client:\n a:\t1\n long-key:\t2\n\nServer:\n b:\t3\n");
        Assert.Equal("Client:\n a:        1\n long-key: 2\n\nServer:\n b: 3\n", w.Flush());
    }

    [Theory]
    [InlineData(0, "0B")]
    [InlineData(999, "999B")]
    [InlineData(1000, "1kB")]
    [InlineData(1_240_000, "1.24MB")]
    [InlineData(4_261_234, "4.26MB")]
    [InlineData(72_800_000, "72.8MB")]
    [InlineData(133_456_789, "133MB")]
    [InlineData(999_999, "1e+03kB")]
    [InlineData(1_500_000_000, "1.5GB")]
    public void Image_sizes_use_decimal_units_with_three_digits(long size, string expected) =>
        Assert.Equal(expected, Units.HumanSize(size, 3));

    [Fact]
    public void Memory_uses_binary_units() => Assert.Equal("31.26GiB", Units.BytesSize(33_565_000_000));

    [Theory]
    [InlineData(0.5, "Less than a second")]
    [InlineData(1, "1 second")]
    [InlineData(42, "42 seconds")]
    [InlineData(60, "About a minute")]
    [InlineData(150, "2 minutes")]
    [InlineData(3600, "About an hour")]
    [InlineData(5400, "2 hours")]
    [InlineData(86400 * 3, "3 days")]
    [InlineData(86400 * 20, "2 weeks")]
    [InlineData(86400 * 90, "3 months")]
    [InlineData(86400 * 800, "2 years")]
    public void Durations_read_like_go_units(double seconds, string expected) =>
        Assert.Equal(expected, Units.HumanDuration(TimeSpan.FromSeconds(seconds)));

    [Theory]
    [InlineData("512m", 512L << 20)]
    [InlineData("1g", 1L << 30)]
    [InlineData("1.5GB", 3L << 29)]
    [InlineData("100k", 102400)]
    [InlineData("4096", 4096)]
    [InlineData("64MiB", 64L << 20)]
    public void Memory_sizes_parse_with_binary_multipliers(string text, long expected) =>
        Assert.Equal(expected, Units.RamInBytes(text));

    [Fact]
    public void Bad_memory_size_is_rejected() => Assert.Throws<FormatException>(() => Units.RamInBytes("12x"));

    [Theory]
    [InlineData("1h30m", 5400)]
    [InlineData("42m", 2520)]
    [InlineData("1.5s", 1.5)]
    [InlineData("300ms", 0.3)]
    public void Go_durations_parse(string text, double seconds)
    {
        Assert.True(Units.TryParseGoDuration(text, out TimeSpan d));
        Assert.Equal(seconds, d.TotalSeconds, 6);
    }

    [Theory]
    [InlineData("sh", "\"sh\"")]
    [InlineData("echo \"hi\"\n", "\"echo \\\"hi\\\"\\n\"")]
    [InlineData("tab\there", "\"tab\\there\"")]
    [InlineData("é", "\"é\"")]
    public void Go_quote(string input, string expected) => Assert.Equal(expected, GoStrings.Quote(input));

    [Fact]
    public void Ps_row_fields_match_docker()
    {
        var c = new ContainerSummary
        {
            Id = "4bed76d3ad428b889c56c1ecc2bf2ed95cb08256db22dc5ef5863e1d03252a19",
            Names = ["/test"],
            Image = "docker.io/library/nginx:alpine",
            ImageID = "sha256:1111111111111111111111111111111111111111111111111111111111111111",
            Command = "/docker-entrypoint.sh nginx -g 'daemon off;'",
            Created = Now.AddMinutes(-2).ToUnixTimeSeconds(),
            State = "running",
            Status = "Up 2 minutes",
            Ports = [new PortSummary { PrivatePort = 80, Type = "tcp" }],
            Labels = new() { ["b"] = "2", ["a"] = "1" },
        };
        var row = new ContainerRow(c, truncate: true, Now, TimeZoneInfo.Utc);
        string table = ListFormat.Render(ListFormat.Resolve(null, ContainerRow.DefaultTable), [row], ContainerRow.Header);
        Assert.Equal(
            "CONTAINER ID   IMAGE          COMMAND                  CREATED         STATUS         PORTS     NAMES\n" +
            "4bed76d3ad42   nginx:alpine   \"/docker-entrypoint.…\"   2 minutes ago   Up 2 minutes   80/tcp    test\n",
            table);

        Assert.Equal("a=1,b=2", ListFormat.Render("{{.Labels}}", [row], ContainerRow.Header).TrimEnd());
        Assert.Equal("2025-03-01 11:58:00 +0000 UTC", ListFormat.Render("{{.CreatedAt}}", [row], ContainerRow.Header).TrimEnd());
        var full = new ContainerRow(c, truncate: false, Now, TimeZoneInfo.Utc);
        Assert.Equal("\"/docker-entrypoint.sh nginx -g 'daemon off;'\"", ListFormat.Render("{{.Command}}", [full], ContainerRow.Header).TrimEnd());
    }

    [Fact]
    public void Ps_json_format_has_sorted_keys()
    {
        var row = new ContainerRow(new ContainerSummary { Id = "abc", Names = ["/x"], Command = "sh", State = "exited" }, true, Now, TimeZoneInfo.Utc);
        string json = ListFormat.Render(ListFormat.Resolve("json", ContainerRow.DefaultTable), [row], ContainerRow.Header);
        Assert.StartsWith("{\"Command\":\"\\\"sh\\\"\",\"CreatedAt\":", json);
        Assert.Contains("\"ID\":\"abc\"", json);
        Assert.EndsWith("\"State\":\"exited\",\"Status\":\"\"}\n", json);
    }

    [Fact]
    public void Custom_table_format_expands_backslash_t_and_names_headers()
    {
        var row = new ContainerRow(new ContainerSummary { Id = "abcdef", Names = ["/web"], State = "running" }, true, Now, TimeZoneInfo.Utc);
        string output = ListFormat.Render("table {{.Names}}\\t{{.State}}", [row], ContainerRow.Header);
        Assert.Equal("NAMES     STATE\nweb       running\n", output);
    }

    [Fact]
    public void Ports_are_grouped_like_docker()
    {
        PortSummary[] ports =
        [
            new() { PrivatePort = 81, Type = "tcp" },
            new() { PrivatePort = 80, Type = "tcp" },
            new() { PrivatePort = 53, Type = "udp" },
            new() { IP = "0.0.0.0", PrivatePort = 443, PublicPort = 8443, Type = "tcp" },
            new() { IP = "::", PrivatePort = 443, PublicPort = 8443, Type = "tcp" },
        ];
        Assert.Equal("53/udp, 80-81/tcp, 0.0.0.0:8443->443/tcp, [::]:8443->443/tcp", ContainerRow.DisplayablePorts(ports));
    }

    [Fact]
    public void Images_expand_to_one_row_per_tag()
    {
        var image = new ImageSummary
        {
            Id = "sha256:3f57d9401f8d42f986df300f0c69192fc41da28ccc8d797829467780db3dd741",
            RepoTags = ["busybox:latest", "busybox:1.36", "docker.io/library/alpine:3"],
            Created = Now.AddDays(-3).ToUnixTimeSeconds(),
            Size = 4_261_234,
        };
        IEnumerable<object?> rows = ImageRow.Expand(image, false, true, Now, TimeZoneInfo.Utc);
        Assert.Equal(
            "REPOSITORY   TAG       IMAGE ID       CREATED      SIZE\n" +
            "alpine       3         3f57d9401f8d   3 days ago   4.26MB\n" +
            "busybox      latest    3f57d9401f8d   3 days ago   4.26MB\n" +
            "busybox      1.36      3f57d9401f8d   3 days ago   4.26MB\n",
            ListFormat.Render(ImageRow.DefaultTable, rows, ImageRow.Header));
    }

    [Fact]
    public void Dangling_images_show_none()
    {
        var image = new ImageSummary { Id = "sha256:abcdef0123456789abcdef", Created = Now.ToUnixTimeSeconds() };
        string output = ListFormat.Render("{{.Repository}}:{{.Tag}} {{.ID}}", ImageRow.Expand(image, false, false, Now, TimeZoneInfo.Utc), ImageRow.Header);
        Assert.Equal("<none>:<none> sha256:abcdef0123456789abcdef\n", output);
    }

    [Fact]
    public void Inspect_output_is_indented_like_go()
    {
        string raw = "[{\"Id\":\"x\",\"Args\":[],\"Config\":{},\"Env\":[\"A=1\",\"B=\\\"2\\\"\"],\"N\":1.50,\"S\":\"a,b:{c}\"}]";
        Assert.Equal(
            "[\n    {\n        \"Id\": \"x\",\n        \"Args\": [],\n        \"Config\": {},\n        \"Env\": [\n            \"A=1\",\n            \"B=\\\"2\\\"\"\n        ],\n        \"N\": 1.50,\n        \"S\": \"a,b:{c}\"\n    }\n]",
            JsonIndent.Indent(raw));
    }

    [Theory]
    [InlineData("busybox", "busybox:latest")]
    [InlineData("busybox:1.36", "busybox:1.36")]
    [InlineData("docker.io/library/busybox", "busybox:latest")]
    [InlineData("localhost:5000/app", "localhost:5000/app:latest")]
    [InlineData("app@sha256:abc", "app@sha256:abc")]
    public void Image_references_get_docker_default_tag(string reference, string expected) =>
        Assert.Equal(expected, ImageRefs.WithDefaultTag(reference));
}
