using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Berth.Api.Server;
using Berth.Primitives;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Berth.UnitTests;

/// <summary>A real Kestrel server on a unix socket in a temp directory, with an HttpClient that dials it.</summary>
public sealed class UnixSocketServer : IAsyncDisposable
{
    private readonly TempDirectory _dir;
    private readonly WebApplication _app;

    private UnixSocketServer(TempDirectory dir, WebApplication app, HttpClient client)
    {
        _dir = dir;
        _app = app;
        Client = client;
    }

    public HttpClient Client { get; }

    public static async Task<UnixSocketServer> StartAsync(Action<WebApplication> configure)
    {
        var dir = new TempDirectory();
        string socket = dir.Combine("api.sock");
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.ListenUnixSocket(socket));
        WebApplication app = builder.Build();
        configure(app);
        await app.StartAsync();

        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                var connection = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await connection.ConnectAsync(new UnixDomainSocketEndPoint(socket), cancellationToken);
                    return new NetworkStream(connection, ownsSocket: true);
                }
                catch
                {
                    connection.Dispose();
                    throw;
                }
            },
        };
        return new UnixSocketServer(dir, app, new HttpClient(handler) { BaseAddress = new Uri("http://berth") });
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _dir.Dispose();
    }
}

public sealed class ApiVersionMiddlewareTests : IAsyncLifetime
{
    private static readonly ApiServerOptions Options = new("1.24", "1.50", "0.1.0-test");
    private UnixSocketServer? _server;

    private HttpClient Client => _server!.Client;

    public async Task InitializeAsync()
    {
        _server = await UnixSocketServer.StartAsync(app =>
        {
            app.UseMiddleware<ApiVersionMiddleware>(Options);
            app.Run(context => context.Response.WriteAsync(
                $"{context.Request.Path}|{context.Request.QueryString}|{ApiVersionMiddleware.Of(context)}"));
        });
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    [Theory]
    [InlineData("/_ping", "/_ping||1.50")]
    [InlineData("/containers/json?all=1", "/containers/json|?all=1|1.50")]
    [InlineData("/v1.44/containers/json?all=1", "/containers/json|?all=1|1.44")]
    [InlineData("/v1.44", "/||1.44")]
    [InlineData("/v1.44/", "/||1.44")]
    [InlineData("/v1.24/info", "/info||1.24")]
    [InlineData("/v1.50/info", "/info||1.50")]
    [InlineData("/v1.41/containers/abc/logs", "/containers/abc/logs||1.41")]
    [InlineData("/v1.44abc/info", "/v1.44abc/info||1.50")] // not a version prefix
    [InlineData("/containers/v1.44/json", "/containers/v1.44/json||1.50")] // only a leading prefix counts
    public async Task StripsTheVersionPrefixAndRemembersTheVersion(string path, string expected)
    {
        using HttpResponseMessage response = await Client.GetAsync(new Uri(path, UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        string body = await response.Content.ReadAsStringAsync();
        Assert.Equal(expected, body);
    }

    [Fact]
    public async Task EveryAnswerCarriesDockersHeaders()
    {
        using HttpResponseMessage response = await Client.GetAsync(new Uri("/v1.44/_ping", UriKind.Relative));

        Assert.Equal("1.50", Assert.Single(response.Headers.GetValues("Api-Version")));
        Assert.Equal("linux", Assert.Single(response.Headers.GetValues("Ostype")));
        Assert.Equal("false", Assert.Single(response.Headers.GetValues("Docker-Experimental")));
        Assert.Equal("Berth/0.1.0-test (linux)", response.Headers.Server.ToString());
    }

    [Theory]
    [InlineData("1.51")]
    [InlineData("1.100")]
    [InlineData("2.0")]
    public async Task TooNewVersionsAreRefusedWithDockersMessage(string version)
    {
        using HttpResponseMessage response = await Client.GetAsync(new Uri($"/v{version}/containers/json", UriKind.Relative));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal($"client version {version} is too new. Maximum supported API version is 1.50", await MessageAsync(response));
        Assert.Equal("1.50", Assert.Single(response.Headers.GetValues("Api-Version")));
    }

    [Theory]
    [InlineData("1.23")]
    [InlineData("1.5")] // numerically 1.5 < 1.24
    [InlineData("1.12")]
    [InlineData("0.99")]
    public async Task TooOldVersionsAreRefusedWithDockersMessage(string version)
    {
        using HttpResponseMessage response = await Client.GetAsync(new Uri($"/v{version}/version", UriKind.Relative));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(
            $"client version {version} is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version",
            await MessageAsync(response));
    }

    [Fact]
    public void OfDefaultsToTheNewestWhenNoVersionWasRecorded()
    {
        Assert.Equal(new Version(1, 50), ApiVersionMiddleware.Of(new DefaultHttpContext()));
    }

    private static async Task<string?> MessageAsync(HttpResponseMessage response)
    {
        using JsonDocument doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return doc.RootElement.GetProperty("message").GetString();
    }
}

public class ApiErrorsTests
{
    [Theory]
    [InlineData(ErrorKind.InvalidArgument, 400)]
    [InlineData(ErrorKind.NotFound, 404)]
    [InlineData(ErrorKind.Conflict, 409)]
    [InlineData(ErrorKind.NotImplemented, 501)] // as moby's errdefs map NotImplemented
    [InlineData(ErrorKind.Forbidden, 403)]
    [InlineData(ErrorKind.Internal, 500)]
    public void StatusOfMapsEachKindToOneStatus(ErrorKind kind, int status)
    {
        Assert.Equal(status, ApiErrors.StatusOf(kind));
    }

    [Fact]
    public void EveryKindHasADistinctStatus()
    {
        ErrorKind[] kinds = Enum.GetValues<ErrorKind>();

        Assert.Equal(kinds.Length, kinds.Select(ApiErrors.StatusOf).Distinct().Count());
    }

    [Fact]
    public async Task EngineExceptionsBecomeTheirStatusWithAMessageBody()
    {
        await using UnixSocketServer server = await UnixSocketServer.StartAsync(app =>
        {
            app.UseMiddleware<ApiErrors>();
            app.Run(context =>
            {
                string kind = context.Request.Path.Value!.TrimStart('/');
                if (kind == "crash")
                {
                    throw new InvalidOperationException("boom");
                }

                throw new EngineException(Enum.Parse<ErrorKind>(kind), $"No such thing: {kind}");
            });
        });

        foreach (ErrorKind kind in Enum.GetValues<ErrorKind>())
        {
            using HttpResponseMessage response = await server.Client.GetAsync(new Uri($"/{kind}", UriKind.Relative));
            Assert.Equal(ApiErrors.StatusOf(kind), (int)response.StatusCode);
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            using JsonDocument doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal($"No such thing: {kind}", doc.RootElement.GetProperty("message").GetString());
        }

        using HttpResponseMessage crash = await server.Client.GetAsync(new Uri("/crash", UriKind.Relative));
        Assert.Equal(HttpStatusCode.InternalServerError, crash.StatusCode);
        Assert.Contains("boom", await crash.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
