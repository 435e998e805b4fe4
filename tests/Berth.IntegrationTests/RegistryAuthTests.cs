using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Berth.IntegrationTests.Infrastructure;
using Berth.Registry;

namespace Berth.IntegrationTests;

/// <summary>
/// berth-registry with an htpasswd file made by Apache's <c>htpasswd -B</c> (bcrypt), and over TLS with a CA made
/// here, trusted by berthd through Docker's <c>certs.d/HOST:PORT/ca.crt</c> (beside its daemon.json). Logins and
/// pulls with a wrong password fail with Docker's words; the right one works and lands in config.json.
/// </summary>
public sealed class RegistryAuthTests(DaemonFixture fixture) : IAsyncLifetime
{
    private const string User = "alice";
    private const string Password = "s3cret-pw";
    private readonly string _root = Directory.CreateTempSubdirectory("berth-regauth-").FullName;
    private readonly List<IAsyncDisposable> _cleanup = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (IAsyncDisposable item in Enumerable.Reverse(_cleanup))
        {
            await item.DisposeAsync();
        }

        Directory.Delete(_root, recursive: true);
    }

    private static Task<CommandResult> BerthAsync(string socket, string config, params string[] args) =>
        ProcessRunner.RunAsync(Binaries.Cli, ["-H", "unix://" + socket, "--config", config, .. args], stdin: null, timeout: TimeSpan.FromSeconds(90));

    private async Task<string> HtpasswdFileAsync()
    {
        string file = Path.Combine(_root, "htpasswd");
        CommandResult made = await ProcessRunner.RunAsync("htpasswd", ["-Bbc", file, User, Password], stdin: null, timeout: TimeSpan.FromSeconds(30));
        Assert.True(made.ExitCode == 0, made.ToString());
        Assert.StartsWith(User + ":$2y$", await File.ReadAllTextAsync(file), StringComparison.Ordinal);
        return file;
    }

    [Fact]
    public async Task Htpasswd_basic_auth_refuses_a_wrong_password_clearly_and_lets_the_right_one_push_and_pull()
    {
        RegistryServer.Running registry = await RegistryServer.StartAsync(new RegistryServerOptions { Address = "127.0.0.1:0", Root = Path.Combine(_root, "data"), HtpasswdPath = await HtpasswdFileAsync() }, CancellationToken.None);
        _cleanup.Add(registry);
        string host = new Uri(registry.Address).Authority;

        // Without credentials: the spec's 401, a Basic challenge and the error body.
        using (var http = new HttpClient())
        {
            using HttpResponseMessage anonymous = await http.GetAsync(registry.Address.TrimEnd('/') + "/v2/");
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
            Assert.Equal("Basic realm=\"Registry Realm\"", anonymous.Headers.WwwAuthenticate.ToString());
            using JsonDocument body = JsonDocument.Parse(await anonymous.Content.ReadAsStringAsync());
            Assert.Equal("UNAUTHORIZED", body.RootElement.GetProperty("errors")[0].GetProperty("code").GetString());
        }

        string config = Path.Combine(_root, "berth-config");
        string socket = fixture.Daemon.SocketPath;
        CommandResult wrong = await BerthAsync(socket, config, "login", "-u", User, "-p", "not-it", host);
        Assert.NotEqual(0, wrong.ExitCode);
        Assert.Contains($"login attempt to http://{host}/v2/ failed with status: 401 Unauthorized", wrong.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(config, "config.json")) && File.ReadAllText(Path.Combine(config, "config.json")).Contains(host, StringComparison.Ordinal));

        CommandResult dockerWrong = await fixture.Docker.RunAsync(["login", "-u", User, "--password-stdin", host], stdin: "not-it\n");
        Assert.NotEqual(0, dockerWrong.ExitCode);
        Assert.Contains("401 Unauthorized", dockerWrong.Stderr, StringComparison.Ordinal);

        string image = $"{host}/auth/bb:v1";
        await fixture.Docker.SucceedAsync("tag", "busybox", image);
        try
        {
            CommandResult anonymousPush = await BerthAsync(socket, config, "push", image);
            Assert.NotEqual(0, anonymousPush.ExitCode);
            Assert.Contains("authentication required", anonymousPush.Stderr, StringComparison.Ordinal);

            CommandResult login = await BerthAsync(socket, config, "login", "-u", User, "-p", Password, host);
            Assert.True(login.ExitCode == 0, login.ToString());
            Assert.Equal("Login Succeeded", login.Stdout.Trim());
            using (JsonDocument stored = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(config, "config.json"))))
            {
                string auth = stored.RootElement.GetProperty("auths").GetProperty(host).GetProperty("auth").GetString()!;
                Assert.Equal($"{User}:{Password}", Encoding.UTF8.GetString(Convert.FromBase64String(auth)));
            }

            CommandResult push = await BerthAsync(socket, config, "push", image);
            Assert.True(push.ExitCode == 0, push.ToString());
            Assert.Matches(@"v1: digest: sha256:[0-9a-f]{64}", push.Stdout);
            await fixture.Docker.SucceedAsync("rmi", image);
            CommandResult pull = await BerthAsync(socket, config, "pull", image);
            Assert.True(pull.ExitCode == 0, pull.ToString());
            Assert.Equal(
                (await fixture.Docker.SucceedAsync("image", "inspect", "--format", "{{.Id}}", "busybox")).Stdout.Trim(),
                (await fixture.Docker.SucceedAsync("image", "inspect", "--format", "{{.Id}}", image)).Stdout.Trim());
            await fixture.Docker.SucceedAsync("rmi", image);

            // Credentials that were right once and are wrong now (a changed password): the pull says why.
            string stale = Path.Combine(_root, "stale-config");
            Directory.CreateDirectory(stale);
            await File.WriteAllTextAsync(Path.Combine(stale, "config.json"), $"{{\"auths\":{{\"{host}\":{{\"auth\":\"{Convert.ToBase64String(Encoding.UTF8.GetBytes(User + ":old-password"))}\"}}}}}}");
            CommandResult stalePull = await BerthAsync(socket, stale, "pull", image);
            Assert.NotEqual(0, stalePull.ExitCode);
            Assert.Contains("authentication required", stalePull.Stderr, StringComparison.Ordinal);
            Assert.NotEqual(0, (await fixture.Docker.RunAsync("image", "inspect", image)).ExitCode);

            // The real docker CLI logs in through berthd with the right password too.
            CommandResult dockerLogin = await fixture.Docker.RunAsync(["login", "-u", User, "--password-stdin", host], stdin: Password + "\n");
            Assert.True(dockerLogin.ExitCode == 0, dockerLogin.ToString());
            Assert.Contains("Login Succeeded", dockerLogin.Stdout, StringComparison.Ordinal);
            await fixture.Docker.SucceedAsync("pull", image);
        }
        finally
        {
            await fixture.Docker.RunAsync("rmi", image);
            await fixture.Docker.RunAsync("logout", host);
        }
    }

    [Fact]
    public async Task Tls_registry_is_trusted_through_certs_d_and_refused_without_its_ca()
    {
        IPAddress address = HostAddress();
        (string certFile, string keyFile, string caFile) = MakeCertificates(address);
        RegistryServer.Running registry = await RegistryServer.StartAsync(new RegistryServerOptions
        {
            Address = $"{address}:0", Root = Path.Combine(_root, "tls-data"), TlsCertPath = certFile, TlsKeyPath = keyFile,
        }, CancellationToken.None);
        _cleanup.Add(registry);
        Assert.StartsWith("https://", registry.Address, StringComparison.Ordinal);
        string host = new Uri(registry.Address).Authority;

        // A daemon of its own: its certs.d is beside its daemon.json, where the test may write.
        BerthDaemon daemon = BerthDaemon.Create("registry-tls");
        _cleanup.Add(daemon);
        await daemon.UseConfigFileAsync("{}");
        await daemon.StartAsync();
        await daemon.BootstrapAsync("busybox");
        string config = Path.Combine(_root, "tls-config");
        string image = $"{host}/secure/bb:v1";
        await daemon.Docker.SucceedAsync("tag", "busybox", image);

        CommandResult untrusted = await BerthAsync(daemon.SocketPath, config, "push", image);
        Assert.NotEqual(0, untrusted.ExitCode);
        Assert.Contains("certificate", untrusted.Stderr, StringComparison.Ordinal);

        string certsD = Path.Combine(daemon.Root, "certs.d", host);
        Directory.CreateDirectory(certsD);
        File.Copy(caFile, Path.Combine(certsD, "ca.crt"));
        CommandResult login = await BerthAsync(daemon.SocketPath, config, "login", "-u", "anyone", "-p", "x", host);
        Assert.True(login.ExitCode == 0, login.ToString());
        CommandResult push = await BerthAsync(daemon.SocketPath, config, "push", image);
        Assert.True(push.ExitCode == 0, push.ToString());
        string id = (await daemon.Docker.SucceedAsync("image", "inspect", "--format", "{{.Id}}", image)).Stdout.Trim();
        await daemon.Docker.SucceedAsync("rmi", image);
        CommandResult pull = await daemon.Docker.RunAsync("pull", image);
        Assert.True(pull.ExitCode == 0, pull.ToString());
        Assert.Equal(id, (await daemon.Docker.SucceedAsync("image", "inspect", "--format", "{{.Id}}", image)).Stdout.Trim());
        Assert.Equal("over-tls", (await daemon.Docker.SucceedAsync("run", "--rm", image, "echo", "over-tls")).Stdout.Trim());
    }

    /// <summary>An address of this host that is not loopback (loopback registries are plain HTTP, as Docker's).</summary>
    private static IPAddress HostAddress()
    {
        // .NET's interface listing can throw "An invalid IP address was specified" while other tests create and delete
        // veths (an address read as the kernel drops it, seen once in a full run): it is read again, a few times at most.
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return NetworkInterface.GetAllNetworkInterfaces()
                    .Where(i => i.OperationalStatus == OperationalStatus.Up && i.NetworkInterfaceType != NetworkInterfaceType.Loopback)
                    .SelectMany(i => i.GetIPProperties().UnicastAddresses)
                    .Select(a => a.Address)
                    .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a))
                    ?? throw new InvalidOperationException("this host has no non-loopback IPv4 address to serve TLS on");
            }
            catch (ArgumentException) when (attempt < 5)
            {
            }
        }
    }

    /// <summary>A CA, and a server certificate it signed for <paramref name="address"/>: PEM files under the test root.</summary>
    private (string Cert, string Key, string Ca) MakeCertificates(IPAddress address)
    {
        // One clock for both: the server's validity must end inside the CA's.
        DateTimeOffset now = DateTimeOffset.UtcNow;
        using RSA caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest("CN=berth test CA", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using X509Certificate2 ca = caRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(2));

        using RSA serverKey = RSA.Create(2048);
        var request = new CertificateRequest("CN=" + address, serverKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(address);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using X509Certificate2 server = request.Create(ca, now.AddMinutes(-1), now.AddDays(1), RandomNumberGenerator.GetBytes(8));

        string cert = Path.Combine(_root, "server.crt");
        string key = Path.Combine(_root, "server.key");
        string caFile = Path.Combine(_root, "ca.crt");
        File.WriteAllText(cert, server.ExportCertificatePem() + "\n" + ca.ExportCertificatePem() + "\n");
        File.WriteAllText(key, serverKey.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(caFile, ca.ExportCertificatePem() + "\n");
        return (cert, key, caFile);
    }
}
