using System.Text.Json;
using Berth.IntegrationTests.Infrastructure;
using Berth.Registry;

namespace Berth.IntegrationTests;

/// <summary>
/// The pull and push JSON streams carry Docker's per-layer <c>progressDetail</c>: byte counts while a blob moves (what
/// the docker CLI draws its bars from on a terminal), <c>{}</c> on the other layer lines; without a terminal neither
/// the docker CLI nor berth prints a bar.
/// </summary>
public sealed class RegistryProgressTests(DaemonFixture fixture) : IAsyncLifetime
{
    private readonly string _root = Directory.CreateTempSubdirectory("berth-regprogress-").FullName;
    private RegistryServer.Running? _registry;
    private string? _image;

    public async Task InitializeAsync() =>
        _registry = await RegistryServer.StartAsync("127.0.0.1:0", Path.Combine(_root, "data"), CancellationToken.None);

    public async Task DisposeAsync()
    {
        if (_image is not null)
        {
            await fixture.Docker.RunAsync("rmi", _image);
        }

        await _registry!.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    private static List<JsonElement> Lines(string body) =>
        [.. body.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone())];

    /// <summary>A one-layer image (a file of 3 MB of random bytes) uploaded through the distribution API as NAME:v1.</summary>
    private static async Task PublishFreshImageAsync(string registry, string name)
    {
        byte[] layer;
        using (var gzipped = new MemoryStream())
        {
            byte[] tar;
            using (var tarBuffer = new MemoryStream())
            {
                using (var writer = new System.Formats.Tar.TarWriter(tarBuffer, System.Formats.Tar.TarEntryFormat.Pax, leaveOpen: true))
                {
                    var entry = new System.Formats.Tar.PaxTarEntry(System.Formats.Tar.TarEntryType.RegularFile, "data")
                    {
                        DataStream = new MemoryStream(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3_100_000)),
                    };
                    writer.WriteEntry(entry);
                }

                tar = tarBuffer.ToArray();
            }

            using (var gzip = new System.IO.Compression.GZipStream(gzipped, System.IO.Compression.CompressionLevel.Optimal, leaveOpen: true))
            {
                gzip.Write(tar);
            }

            layer = gzipped.ToArray();
            string diffId = "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(tar));
            byte[] config = System.Text.Encoding.UTF8.GetBytes($"{{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{{}},\"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[\"{diffId}\"]}}}}");
            using var http = new HttpClient { BaseAddress = new Uri(registry) };
            foreach (byte[] blob in new[] { layer, config })
            {
                using HttpResponseMessage uploaded = await http.PostAsync($"/v2/{name}/blobs/uploads/?digest={Digest(blob)}", new ByteArrayContent(blob));
                Assert.True(uploaded.IsSuccessStatusCode, $"upload: {(int)uploaded.StatusCode}");
            }

            string manifest = $"{{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"{Digest(config)}\",\"size\":{config.Length}}},\"layers\":[{{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"{Digest(layer)}\",\"size\":{layer.Length}}}]}}";
            var content = new StringContent(manifest);
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/vnd.oci.image.manifest.v1+json");
            using HttpResponseMessage put = await http.PutAsync($"/v2/{name}/manifests/v1", content);
            Assert.True(put.IsSuccessStatusCode, $"manifest: {(int)put.StatusCode} {await put.Content.ReadAsStringAsync()}");
        }

        static string Digest(byte[] blob) => "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(blob));
    }

    /// <summary>The last message with <paramref name="status"/> of the layer whose total is the largest.</summary>
    private static JsonElement LastOfLargest(List<JsonElement> lines, string status)
    {
        JsonElement[] counted = [.. lines.Where(l => l.TryGetProperty("status", out JsonElement s) && s.GetString() == status && l.TryGetProperty("progressDetail", out JsonElement d) && d.TryGetProperty("total", out _))];
        Assert.NotEmpty(counted);
        long largest = counted.Max(l => l.GetProperty("progressDetail").GetProperty("total").GetInt64());
        return counted.Last(l => l.GetProperty("progressDetail").GetProperty("total").GetInt64() == largest);
    }

    [Fact]
    public async Task Pull_and_push_streams_carry_byte_counts_per_layer_and_plain_output_has_no_bars()
    {
        string host = new Uri(_registry!.Address).Authority;
        _image = $"{host}/progress/app:v1";
        string builder = Names.Unique("progress");
        await fixture.Docker.SucceedAsync("run", "--name", builder, "busybox", "sh", "-c", "head -c 3000000 /dev/urandom > /data");
        try
        {
            await fixture.Docker.SucceedAsync("commit", builder, _image);
        }
        finally
        {
            await fixture.Docker.RunAsync("rm", "-f", builder);
        }

        using (HttpResponseMessage push = await fixture.Api.PostAsync($"/images/{_image[..^3]}/push?tag=v1", null))
        {
            string body = await push.Content.ReadAsStringAsync();
            Assert.True(push.IsSuccessStatusCode, body);
            List<JsonElement> lines = Lines(body);
            Assert.Contains(lines, l => l.TryGetProperty("status", out JsonElement s) && s.GetString() == "Pushing");
            // The committed layer's last count (busybox's layer goes up beside it, in any order).
            JsonElement pushing = LastOfLargest(lines, "Pushing");
            long total = pushing.GetProperty("progressDetail").GetProperty("total").GetInt64();
            Assert.True(total > 3_000_000, pushing.ToString());
            Assert.Equal(total, pushing.GetProperty("progressDetail").GetProperty("current").GetInt64());
            Assert.Contains("]", pushing.GetProperty("progress").GetString(), StringComparison.Ordinal);
            JsonElement pushed = lines.First(l => l.TryGetProperty("status", out JsonElement s) && s.GetString() == "Pushed");
            Assert.Equal(JsonValueKind.Object, pushed.GetProperty("progressDetail").ValueKind);
        }

        // Pulled: an image this daemon never had (written straight into the registry), so its layer has to download.
        string fresh = $"{host}/progress/fresh";
        await PublishFreshImageAsync(_registry.Address, "progress/fresh");
        try
        {
            using HttpResponseMessage pull = await fixture.Api.PostAsync($"/images/create?fromImage={Uri.EscapeDataString(fresh)}&tag=v1", null);
            string body = await pull.Content.ReadAsStringAsync();
            Assert.True(pull.IsSuccessStatusCode, body);
            List<JsonElement> lines = Lines(body);
            JsonElement downloading = LastOfLargest(lines, "Downloading");
            JsonElement detail = downloading.GetProperty("progressDetail");
            Assert.True(detail.GetProperty("total").GetInt64() > 3_000_000, downloading.ToString());
            Assert.Equal(detail.GetProperty("total").GetInt64(), detail.GetProperty("current").GetInt64());
            Assert.Contains(lines, l => l.TryGetProperty("status", out JsonElement s) && s.GetString() == "Pull complete" && l.GetProperty("progressDetail").ValueKind == JsonValueKind.Object);
        }
        finally
        {
            await fixture.Docker.RunAsync("rmi", fresh + ":v1");
        }

        // Not a terminal: the layer lines, no bars, from the docker CLI and from berth alike.
        await fixture.Docker.SucceedAsync("rmi", _image);
        CommandResult docker = await fixture.Docker.SucceedAsync("pull", _image);
        Assert.Contains("Pull complete", docker.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("[=", docker.Stdout, StringComparison.Ordinal);
        await fixture.Docker.SucceedAsync("rmi", _image);
        CommandResult berth = await fixture.Daemon.Berth.SucceedAsync("pull", _image);
        Assert.Contains("Pull complete", berth.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("[=", berth.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("\u001b[", berth.Stdout, StringComparison.Ordinal);
    }
}
