using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace Berth.IntegrationTests.Infrastructure;

/// <summary>
/// A TCP relay on 127.0.0.1 in front of a loopback server that watches what goes by: the HTTP/1.1 request lines
/// clients send, the bytes they send, and connections that open with a TLS handshake. It can also break the first
/// PATCH (an upload's body) after some bytes, resetting both sides as a dropped connection would.
/// </summary>
internal sealed partial class LoopbackProxy : LoopbackServer
{
    private readonly int _targetPort;
    private readonly long _cutPatchAfter;
    private readonly List<string> _requests = [];
    private long _bytesUp;
    private int _tlsHandshakes;
    private int _patchCut;

    /// <param name="targetPort">The server's port on 127.0.0.1.</param>
    /// <param name="cutPatchAfter">Bytes of the first PATCH (request line included) let through before both sides are reset; negative: never.</param>
    public LoopbackProxy(int targetPort, long cutPatchAfter = -1)
    {
        _targetPort = targetPort;
        _cutPatchAfter = cutPatchAfter;
        Start();
    }

    /// <summary>Bytes clients sent through the proxy.</summary>
    public long BytesUp => Interlocked.Read(ref _bytesUp);

    /// <summary>Connections whose first byte was a TLS handshake record (a client trying HTTPS).</summary>
    public int TlsHandshakes => Volatile.Read(ref _tlsHandshakes);

    /// <summary>Whether the first PATCH was cut.</summary>
    public bool PatchCut => Volatile.Read(ref _patchCut) != 0;

    /// <summary>"METHOD /path?query" of every request seen so far, in order of arrival.</summary>
    public IReadOnlyList<string> Requests
    {
        get
        {
            lock (_requests)
            {
                return [.. _requests];
            }
        }
    }

    /// <summary>Forgets the requests and bytes seen so far.</summary>
    public void Reset()
    {
        lock (_requests)
        {
            _requests.Clear();
        }

        Interlocked.Exchange(ref _bytesUp, 0);
    }

    protected override async Task ServeAsync(Socket accepted)
    {
        using (var client = new TcpClient { Client = accepted })
        using (var server = new TcpClient())
        {
            try
            {
                await server.ConnectAsync(IPAddress.Loopback, _targetPort, Stopping);
                using var both = CancellationTokenSource.CreateLinkedTokenSource(Stopping);
                Task up = UpAsync(client, server, both);
                Task down = CopyAsync(server.GetStream(), client.GetStream(), both.Token);
                await Task.WhenAny(up, down);
                await both.CancelAsync();
                await Task.WhenAll(up.ContinueWith(_ => { }, TaskScheduler.Default), down.ContinueWith(_ => { }, TaskScheduler.Default));
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // A side went away: so does the other.
            }
        }
    }

    private static async Task CopyAsync(NetworkStream from, NetworkStream to, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[1 << 16];
        int read;
        while ((read = await from.ReadAsync(buffer, cancellationToken)) > 0)
        {
            await to.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
        }

        to.Socket.Shutdown(SocketShutdown.Send);
    }

    /// <summary>Client to server: relayed, request lines noted, the first PATCH cut when asked.</summary>
    private async Task UpAsync(TcpClient client, TcpClient server, CancellationTokenSource both)
    {
        NetworkStream from = client.GetStream();
        NetworkStream to = server.GetStream();
        byte[] buffer = new byte[1 << 16];
        string tail = "";
        bool first = true;
        long patchSent = -1; // bytes sent since the watched PATCH began on this connection; -1: none
        int read;
        while ((read = await from.ReadAsync(buffer, both.Token)) > 0)
        {
            if (first && buffer[0] == 0x16)
            {
                Interlocked.Increment(ref _tlsHandshakes);
            }

            first = false;
            string text = tail + Encoding.Latin1.GetString(buffer, 0, read);
            int forward = read;
            int patchStart = -1;
            foreach (Match match in RequestLine().Matches(text))
            {
                // A line wholly inside the tail was seen with the previous read.
                if (match.Index + match.Length <= tail.Length)
                {
                    continue;
                }

                lock (_requests)
                {
                    _requests.Add(match.Groups[1].Value + " " + match.Groups[2].Value);
                }

                if (match.Groups[1].Value == "PATCH" && _cutPatchAfter >= 0 && !PatchCut)
                {
                    patchStart = Math.Max(0, match.Index - tail.Length);
                }
                else
                {
                    // The watched PATCH ended below the mark (a request follows only after its answer): only a PATCH
                    // larger than the mark is cut, and always inside its own bytes.
                    patchStart = -1;
                    patchSent = -1;
                }
            }

            if (patchStart >= 0)
            {
                patchSent = read - patchStart;
            }
            else if (patchSent >= 0)
            {
                patchSent += read;
            }

            bool cut = false;
            if (patchSent > _cutPatchAfter && Interlocked.CompareExchange(ref _patchCut, 1, 0) == 0)
            {
                forward = (int)Math.Max(0, read - (patchSent - _cutPatchAfter));
                cut = true;
            }

            Interlocked.Add(ref _bytesUp, forward);
            await to.WriteAsync(buffer.AsMemory(0, forward), both.Token);
            if (cut)
            {
                // As a dropped link: reset both connections, nothing more either way.
                client.LingerState = new LingerOption(true, 0);
                server.LingerState = new LingerOption(true, 0);
                client.Client.Close();
                server.Client.Close();
                return;
            }

            tail = text.Length > 4096 ? text[^4096..] : text;
        }

        to.Socket.Shutdown(SocketShutdown.Send);
    }

    [GeneratedRegex(@"(GET|HEAD|POST|PUT|PATCH|DELETE) (/[^ \r\n]*) HTTP/1\.1\r\n")]
    private static partial Regex RequestLine();
}
