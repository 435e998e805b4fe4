using System.Text;
using System.Text.Json;
using Berth.Api.Server;
using Berth.Api.Types;

namespace Berth.UnitTests;

/// <summary>What real clients (docker-py, docker-compose 1.29) send and expect, at the wire level.</summary>
public sealed class ClientCompatibilityTests
{
    [Fact]
    public void A_healthcheck_with_null_durations_reads_them_as_zero_like_docker()
    {
        // docker-py's Healthcheck always carries StartPeriod, null when unset; Go leaves a null number at zero.
        const string body = """{"Image":"busybox","Healthcheck":{"Test":["CMD","true"],"Interval":1000000000,"Timeout":null,"Retries":null,"StartPeriod":null,"StartInterval":null}}""";
        ContainerCreateRequest request = JsonSerializer.Deserialize(body, ApiJsonContext.Default.ContainerCreateRequest)!;
        Assert.Equal(1_000_000_000, request.Healthcheck!.Interval);
        Assert.Equal(0, request.Healthcheck.Timeout);
        Assert.Equal(0, request.Healthcheck.Retries);
        Assert.Equal(0, request.Healthcheck.StartPeriod);
        Assert.Equal(0, request.Healthcheck.StartInterval);
        // Writing is unchanged: numbers stay numbers.
        string written = JsonSerializer.Serialize(request.Healthcheck, ApiJsonContext.Default.HealthConfig);
        Assert.Contains("\"Interval\":1000000000", written, StringComparison.Ordinal);
        Assert.Contains("\"StartPeriod\":0", written, StringComparison.Ordinal);
    }

    [Fact]
    public void A_non_number_duration_is_still_an_error()
    {
        const string body = """{"Image":"busybox","Healthcheck":{"Interval":"1s"}}""";
        Assert.ThrowsAny<Exception>(() => JsonSerializer.Deserialize(body, ApiJsonContext.Default.ContainerCreateRequest));
    }

    [Fact]
    public void An_image_inspect_without_legacy_fields_omits_them_and_with_them_writes_them()
    {
        var image = new ImageInspect { Id = "sha256:abc" };
        string modern = JsonSerializer.Serialize(image, ApiJsonContext.Default.ImageInspect);
        Assert.DoesNotContain("ContainerConfig", modern, StringComparison.Ordinal);
        Assert.DoesNotContain("\"Container\"", modern, StringComparison.Ordinal);
        string legacy = JsonSerializer.Serialize(image with { Container = "", ContainerConfig = image.Config }, ApiJsonContext.Default.ImageInspect);
        Assert.Contains("\"ContainerConfig\":{", legacy, StringComparison.Ordinal);
        Assert.Contains("\"Container\":\"\"", legacy, StringComparison.Ordinal);
    }

    /// <summary>Records every write, so the test sees what would go out as separate HTTP chunks.</summary>
    private sealed class WriteRecorder : MemoryStream
    {
        public List<byte[]> Writes { get; } = [];

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Writes.Add(buffer.ToArray());
            return ValueTask.CompletedTask;
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            Writes.Add(buffer.AsSpan(offset, count).ToArray());
            return Task.CompletedTask;
        }

        public override void Write(byte[] buffer, int offset, int count) => Writes.Add(buffer.AsSpan(offset, count).ToArray());
    }

    [Fact]
    public async Task A_json_stream_object_and_its_line_end_go_out_in_one_write()
    {
        using var body = new WriteRecorder();
        await JsonLines.WriteAsync(body, new ProgressMessage { Status = "one" }, ApiJsonContext.Default.ProgressMessage, CancellationToken.None);
        await JsonLines.WriteAsync(body, new ProgressMessage { Stream = "two\n" }, ApiJsonContext.Default.ProgressMessage, CancellationToken.None, crlf: true);
        Assert.Equal(2, body.Writes.Count);
        string first = Encoding.UTF8.GetString(body.Writes[0]);
        string second = Encoding.UTF8.GetString(body.Writes[1]);
        Assert.EndsWith("}\n", first, StringComparison.Ordinal);
        Assert.EndsWith("}\r\n", second, StringComparison.Ordinal);
        Assert.Equal("one", JsonDocument.Parse(first).RootElement.GetProperty("status").GetString());
    }
}
