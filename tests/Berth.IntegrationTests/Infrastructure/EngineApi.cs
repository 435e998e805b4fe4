using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Berth.IntegrationTests.Infrastructure;

/// <summary>The Engine API over the daemon's unix socket, with plain <see cref="HttpClient"/> (no Berth client code).</summary>
public static class EngineApi
{
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    public static HttpClient CreateClient(string socketPath, TimeSpan? timeout = null)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
            PooledConnectionLifetime = TimeSpan.FromMinutes(1),
        };
        return new HttpClient(handler, disposeHandler: true)
        {
            BaseAddress = new Uri("http://berth"),
            Timeout = timeout ?? RequestTimeout,
        };
    }

    public static StringContent Json(string json) => new(json, Encoding.UTF8, new MediaTypeHeaderValue("application/json"));

    /// <summary>Reads a body that must be JSON and returns its root (cloned, so the document can go).</summary>
    public static async Task<JsonElement> ReadJsonAsync(this HttpResponseMessage response)
    {
        string text = await response.Content.ReadAsStringAsync();
        try
        {
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new InvalidOperationException($"{(int)response.StatusCode} {response.RequestMessage?.RequestUri}: body is not JSON: {text}", e);
        }
    }

    /// <summary>Asserts the status and Docker's error body <c>{"message": ...}</c>, returning the message.</summary>
    public static async Task<string> AssertErrorAsync(this HttpResponseMessage response, HttpStatusCode status)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var doc = JsonDocument.Parse(body);
        Assert.True(doc.RootElement.TryGetProperty("message", out JsonElement message), $"no message in {body}");
        return message.GetString() ?? "";
    }

    /// <summary>Decodes Docker's multiplexed stream: 8-byte headers <c>[stream,0,0,0,size(BE)]</c> then the payload.</summary>
    public static List<(int Stream, string Text)> Demultiplex(byte[] data)
    {
        var frames = new List<(int, string)>();
        int offset = 0;
        while (offset < data.Length)
        {
            Assert.True(data.Length - offset >= 8, $"truncated frame header at {offset} of {data.Length}");
            int stream = data[offset];
            Assert.True(stream is 0 or 1 or 2, $"bad stream byte {stream} at {offset}");
            Assert.True(data[offset + 1] == 0 && data[offset + 2] == 0 && data[offset + 3] == 0, $"bad header padding at {offset}");
            int size = (data[offset + 4] << 24) | (data[offset + 5] << 16) | (data[offset + 6] << 8) | data[offset + 7];
            offset += 8;
            Assert.True(data.Length - offset >= size, $"truncated frame payload at {offset}: {size} bytes announced");
            frames.Add((stream, Encoding.UTF8.GetString(data, offset, size)));
            offset += size;
        }

        return frames;
    }
}
