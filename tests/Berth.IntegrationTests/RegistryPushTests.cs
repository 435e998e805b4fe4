using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Berth.IntegrationTests.Infrastructure;
using Berth.Registry;

namespace Berth.IntegrationTests;

/// <summary>
/// Push as Docker pushes: a blob the registry holds in another repository is mounted, not uploaded; an upload whose
/// connection breaks is resumed from where the registry's copy ends; a loopback registry is tried over HTTPS first
/// (any certificate) and plain HTTP after, remembered per host. Registries: Berth's own server and Debian's
/// docker-registry (distribution 2.8), each behind a loopback proxy that sees every request.
/// </summary>
public sealed class RegistryPushTests(DaemonFixture fixture) : IAsyncLifetime
{
    private readonly string _root = Directory.CreateTempSubdirectory("berth-regpush-").FullName;
    private readonly List<string> _tags = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (string tag in _tags)
        {
            await fixture.Docker.RunAsync("rmi", tag);
        }

        Directory.Delete(_root, recursive: true);
    }

    private static List<JsonElement> Lines(string body) =>
        [.. body.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone())];

    private static IEnumerable<string> Statuses(List<JsonElement> lines) =>
        lines.Where(l => l.TryGetProperty("status", out _)).Select(l => l.GetProperty("status").GetString() ?? "");

    private async Task TagAsync(string source, string target)
    {
        await fixture.Docker.SucceedAsync("tag", source, target);
        _tags.Add(target);
    }

    /// <summary>POST /images/{name}/push?tag=TAG; the JSON stream's lines (failing on an error line).</summary>
    private async Task<List<JsonElement>> PushAsync(string image)
    {
        int colon = image.LastIndexOf(':');
        using HttpResponseMessage push = await fixture.Api.PostAsync($"/images/{image[..colon]}/push?tag={image[(colon + 1)..]}", null);
        string body = await push.Content.ReadAsStringAsync();
        Assert.True(push.IsSuccessStatusCode, body);
        List<JsonElement> lines = Lines(body);
        Assert.DoesNotContain(lines, l => l.TryGetProperty("error", out _));
        return lines;
    }

    /// <summary>
    /// busybox to REPO a, then as b through the API stream and as c with berth push: b and c upload nothing. A registry
    /// whose blobs are per repository (distribution) is asked to mount them; Berth's server shares blobs across its
    /// repositories (content addressed), so its HEAD already finds them there and nothing needs mounting.
    /// </summary>
    private async Task PushedAgainUnderAnotherNameUploadsNothingAsync(LoopbackProxy proxy, bool blobsPerRepository)
    {
        string a = $"{proxy.Authority}/mount/a:v1";
        await TagAsync("busybox", a);
        List<JsonElement> first = await PushAsync(a);
        Assert.Contains("Pushed", Statuses(first));
        Assert.Contains(proxy.Requests, r => r.StartsWith("PATCH ", StringComparison.Ordinal));
        long firstBytes = proxy.BytesUp;

        proxy.Reset();
        string b = $"{proxy.Authority}/mount/b:v1";
        await TagAsync("busybox", b);
        List<JsonElement> second = await PushAsync(b);
        Assert.DoesNotContain("Pushed", Statuses(second));
        if (blobsPerRepository)
        {
            Assert.Contains("Mounted from mount/a", Statuses(second));
            Assert.Contains(proxy.Requests, r => r.StartsWith("POST /v2/mount/b/blobs/uploads/?mount=sha256", StringComparison.Ordinal) && r.EndsWith("&from=mount%2Fa", StringComparison.Ordinal));
        }
        else
        {
            Assert.Contains("Layer already exists", Statuses(second));
        }

        // No blob bytes: no PATCH, and the one PUT is the manifest's.
        Assert.DoesNotContain(proxy.Requests, r => r.StartsWith("PATCH ", StringComparison.Ordinal));
        Assert.Equal(["PUT /v2/mount/b/manifests/v1"], proxy.Requests.Where(r => r.StartsWith("PUT ", StringComparison.Ordinal)));
        Assert.True(proxy.BytesUp < firstBytes / 10, $"{proxy.BytesUp} bytes sent for a mounted push, {firstBytes} for the first");

        proxy.Reset();
        string c = $"{proxy.Authority}/mount/c:v1";
        await TagAsync("busybox", c);
        CommandResult cli = await fixture.Daemon.Berth.SucceedAsync("push", c);
        Assert.Matches(blobsPerRepository ? @"[0-9a-f]{12}: Mounted from mount/[ab]" : @"[0-9a-f]{12}: Layer already exists", cli.Stdout);
        Assert.DoesNotContain(proxy.Requests, r => r.StartsWith("PATCH ", StringComparison.Ordinal));

        // What was mounted is really there: the registry serves c's manifest, and every blob it names.
        using var http = new HttpClient { BaseAddress = new Uri($"http://{proxy.Authority}") };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v2/mount/c/manifests/v1");
        request.Headers.Accept.ParseAdd("application/vnd.oci.image.manifest.v1+json");
        request.Headers.Accept.ParseAdd("application/vnd.docker.distribution.manifest.v2+json");
        using HttpResponseMessage manifest = await http.SendAsync(request);
        Assert.True(manifest.IsSuccessStatusCode, $"{(int)manifest.StatusCode}");
        using JsonDocument document = JsonDocument.Parse(await manifest.Content.ReadAsStringAsync());
        foreach (JsonElement descriptor in document.RootElement.GetProperty("layers").EnumerateArray().Append(document.RootElement.GetProperty("config")))
        {
            using HttpResponseMessage head = await http.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/mount/c/blobs/{descriptor.GetProperty("digest").GetString()}"));
            Assert.True(head.IsSuccessStatusCode, $"{descriptor} in mount/c: {(int)head.StatusCode}");
        }

        // The mount request itself, as the client sends it: 201 with the blob's location, for either registry.
        string layer = document.RootElement.GetProperty("layers")[0].GetProperty("digest").GetString()!;
        using HttpResponseMessage mounted = await http.PostAsync($"/v2/mount/d/blobs/uploads/?mount={Uri.EscapeDataString(layer)}&from=mount%2Fa", null);
        Assert.Equal(System.Net.HttpStatusCode.Created, mounted.StatusCode);
        Assert.EndsWith($"/v2/mount/d/blobs/{layer}", mounted.Headers.Location!.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_second_repository_on_berths_registry_gets_the_image_without_blob_bytes()
    {
        await using RegistryServer.Running registry = await RegistryServer.StartAsync("127.0.0.1:0", Path.Combine(_root, "data"), CancellationToken.None);
        await using var proxy = new LoopbackProxy(new Uri(registry.Address).Port);
        await PushedAgainUnderAnotherNameUploadsNothingAsync(proxy, blobsPerRepository: false);
    }

    [Fact]
    public async Task A_blob_in_another_repository_of_docker_registry_is_mounted_not_uploaded()
    {
        await using DistributionRegistry registry = await DistributionRegistry.StartAsync();
        await using var proxy = new LoopbackProxy(registry.Port);
        await PushedAgainUnderAnotherNameUploadsNothingAsync(proxy, blobsPerRepository: true);
    }

    [Fact]
    public async Task A_pulled_image_pushed_to_another_repository_of_its_registry_is_mounted_from_where_it_came()
    {
        await using DistributionRegistry registry = await DistributionRegistry.StartAsync();
        await using var proxy = new LoopbackProxy(registry.Port);
        string layer = await PublishRandomImageAsync($"http://{registry.Authority}", "origin/app");
        string pulled = $"{proxy.Authority}/origin/app:v1";
        using (HttpResponseMessage pull = await fixture.Api.PostAsync($"/images/create?fromImage={Uri.EscapeDataString(pulled[..^3])}&tag=v1", null))
        {
            string body = await pull.Content.ReadAsStringAsync();
            Assert.True(pull.IsSuccessStatusCode && !body.Contains("\"error\"", StringComparison.Ordinal), body);
        }

        _tags.Add(pulled);
        string copy = $"{proxy.Authority}/copy/app:v1";
        await TagAsync(pulled, copy);
        proxy.Reset();
        List<JsonElement> pushed = await PushAsync(copy);
        Assert.Contains(pushed, l => l.TryGetProperty("id", out JsonElement id) && layer.StartsWith("sha256:" + id.GetString(), StringComparison.Ordinal)
            && l.GetProperty("status").GetString() == "Mounted from origin/app");
        Assert.DoesNotContain(proxy.Requests, r => r.StartsWith("PATCH ", StringComparison.Ordinal));
    }

    /// <summary>A one-layer image (64 KB of random bytes) put straight into a registry as NAME:v1; returns the layer's digest.</summary>
    private static async Task<string> PublishRandomImageAsync(string registry, string name)
    {
        byte[] tar;
        using (var tarBuffer = new MemoryStream())
        {
            using (var writer = new System.Formats.Tar.TarWriter(tarBuffer, System.Formats.Tar.TarEntryFormat.Pax, leaveOpen: true))
            {
                writer.WriteEntry(new System.Formats.Tar.PaxTarEntry(System.Formats.Tar.TarEntryType.RegularFile, "random")
                {
                    DataStream = new MemoryStream(RandomNumberGenerator.GetBytes(65536)),
                });
            }

            tar = tarBuffer.ToArray();
        }

        byte[] layer;
        using (var gzipped = new MemoryStream())
        {
            using (var gzip = new System.IO.Compression.GZipStream(gzipped, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
            {
                gzip.Write(tar);
            }

            layer = gzipped.ToArray();
        }

        byte[] config = System.Text.Encoding.UTF8.GetBytes($"{{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{{}},\"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[\"{Digest(tar)}\"]}}}}");
        using var http = new HttpClient { BaseAddress = new Uri(registry) };
        foreach (byte[] blob in new[] { layer, config })
        {
            // POST then PUT with the bytes: distribution 2.8 ignores a body on the POST.
            using HttpResponseMessage started = await http.PostAsync($"/v2/{name}/blobs/uploads/", null);
            Assert.Equal(System.Net.HttpStatusCode.Accepted, started.StatusCode);
            var put = new UriBuilder(new Uri(http.BaseAddress, started.Headers.Location!));
            put.Query = (put.Query.Length > 1 ? put.Query[1..] + "&" : "") + "digest=" + Uri.EscapeDataString(Digest(blob));
            using HttpResponseMessage uploaded = await http.PutAsync(put.Uri, new ByteArrayContent(blob));
            Assert.True(uploaded.IsSuccessStatusCode, $"upload: {(int)uploaded.StatusCode} {await uploaded.Content.ReadAsStringAsync()}");
        }

        string manifest = $"{{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"{Digest(config)}\",\"size\":{config.Length}}},\"layers\":[{{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"{Digest(layer)}\",\"size\":{layer.Length}}}]}}";
        var content = new StringContent(manifest);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/vnd.oci.image.manifest.v1+json");
        using HttpResponseMessage tagged = await http.PutAsync($"/v2/{name}/manifests/v1", content);
        Assert.True(tagged.IsSuccessStatusCode, $"manifest: {(int)tagged.StatusCode} {await tagged.Content.ReadAsStringAsync()}");
        return Digest(layer);

        static string Digest(byte[] blob) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(blob));
    }

    [Fact]
    public async Task An_upload_cut_mid_way_resumes_where_the_registry_copy_ends_and_the_image_pulls_back_whole()
    {
        await using RegistryServer.Running registry = await RegistryServer.StartAsync("127.0.0.1:0", Path.Combine(_root, "data"), CancellationToken.None);
        await using var proxy = new LoopbackProxy(new Uri(registry.Address).Port, cutPatchAfter: 1_000_000);
        string image = $"{proxy.Authority}/resume/app:v1";
        string builder = Names.Unique("resume");
        await fixture.Docker.SucceedAsync("run", "--name", builder, "busybox", "sh", "-c", "head -c 4000000 /dev/urandom > /data");
        try
        {
            await fixture.Docker.SucceedAsync("commit", builder, image);
            _tags.Add(image);
        }
        finally
        {
            await fixture.Docker.RunAsync("rm", "-f", builder);
        }

        string id = (await fixture.Docker.SucceedAsync("image", "inspect", "--format", "{{.Id}}", image)).Stdout.Trim();
        List<JsonElement> pushed = await PushAsync(image);
        Assert.True(proxy.PatchCut, string.Join("\n", proxy.Requests));
        IReadOnlyList<string> requests = proxy.Requests;
        // After the cut: the session's status, then the rest in a second PATCH, then the PUT with the digest.
        int cutAt = requests.Select((r, i) => (r, i)).First(p => p.r.StartsWith("PATCH ", StringComparison.Ordinal)).i;
        Assert.Contains(requests.Skip(cutAt), r => r.StartsWith("GET /v2/resume/app/blobs/uploads/", StringComparison.Ordinal));
        Assert.True(requests.Count(r => r.StartsWith("PATCH ", StringComparison.Ordinal)) >= 2, string.Join("\n", requests));
        Assert.Contains(pushed, l => l.TryGetProperty("status", out JsonElement s) && s.GetString()!.StartsWith("v1: digest: sha256:", StringComparison.Ordinal));
        // Resumed, not started again: the blob went up once plus what the cut lost, not twice.
        Assert.True(proxy.BytesUp < 4_000_000 + 3_000_000, $"{proxy.BytesUp} bytes sent");

        await fixture.Docker.SucceedAsync("rmi", image);
        _tags.Remove(image);
        await fixture.Docker.SucceedAsync("pull", image);
        _tags.Add(image);
        Assert.Equal(id, (await fixture.Docker.SucceedAsync("image", "inspect", "--format", "{{.Id}}", image)).Stdout.Trim());
        CommandResult size = await fixture.Docker.SucceedAsync("run", "--rm", image, "wc", "-c", "/data");
        Assert.StartsWith("4000000", size.Stdout.Trim(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_loopback_registry_is_tried_over_https_first_and_plain_http_is_remembered()
    {
        // Berth's server with a self-signed certificate: 127.0.0.1 is insecure, so its certificate is not checked.
        string certPath = Path.Combine(_root, "tls.crt");
        string keyPath = Path.Combine(_root, "tls.key");
        using (RSA key = RSA.Create(2048))
        {
            var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            var names = new SubjectAlternativeNameBuilder();
            names.AddIpAddress(System.Net.IPAddress.Loopback);
            request.CertificateExtensions.Add(names.Build());
            using X509Certificate2 certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
            await File.WriteAllTextAsync(certPath, certificate.ExportCertificatePem());
            await File.WriteAllTextAsync(keyPath, key.ExportPkcs8PrivateKeyPem());
        }

        int tlsPort = LoopbackPort.Free();
        await using (RegistryServer.Running tls = await RegistryServer.StartAsync(
            new RegistryServerOptions { Address = $"127.0.0.1:{tlsPort}", Root = Path.Combine(_root, "tls-data"), TlsCertPath = certPath, TlsKeyPath = keyPath }, CancellationToken.None))
        {
            string image = $"127.0.0.1:{tlsPort}/secure/bb:v1";
            await TagAsync("busybox", image);
            await PushAsync(image);
            await fixture.Docker.SucceedAsync("rmi", image);
            CommandResult pull = await fixture.Daemon.Berth.SucceedAsync("pull", image);
            Assert.Contains("v1: Pulling from secure/bb", pull.Stdout, StringComparison.Ordinal);
            Assert.Equal(
                (await fixture.Docker.SucceedAsync("image", "inspect", "--format", "{{.Id}}", "busybox")).Stdout.Trim(),
                (await fixture.Docker.SucceedAsync("image", "inspect", "--format", "{{.Id}}", image)).Stdout.Trim());
        }

        // A plain server: HTTPS fails at the handshake, HTTP works, and the next push goes straight to HTTP.
        await using RegistryServer.Running plain = await RegistryServer.StartAsync("127.0.0.1:0", Path.Combine(_root, "plain-data"), CancellationToken.None);
        await using var proxy = new LoopbackProxy(new Uri(plain.Address).Port);
        string first = $"{proxy.Authority}/plain/bb:v1";
        await TagAsync("busybox", first);
        await PushAsync(first);
        Assert.Equal(1, proxy.TlsHandshakes);
        string second = $"{proxy.Authority}/plain/bb:v2";
        await TagAsync("busybox", second);
        CommandResult cli = await fixture.Daemon.Berth.SucceedAsync("push", second);
        Assert.Contains("v2: digest: sha256:", cli.Stdout, StringComparison.Ordinal);
        await fixture.Docker.SucceedAsync("rmi", second);
        await fixture.Daemon.Berth.SucceedAsync("pull", second);
        Assert.Equal(1, proxy.TlsHandshakes);
    }
}
