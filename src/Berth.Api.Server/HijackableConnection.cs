using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;

namespace Berth.Api.Server;

/// <summary>
/// Sits between a connection's socket and Kestrel's HTTP parser so an endpoint can take the connection over
/// (attach, exec start). Kestrel aborts a request, and drops its output, the moment the client half-closes,
/// yet Docker clients half-close a hijacked connection as soon as they have no more stdin and keep reading
/// the output. Once an endpoint calls <see cref="Divert"/>, later client bytes, and the client's end of input,
/// go to that endpoint instead of Kestrel, which never learns of the half-close.
/// </summary>
public sealed class HijackableConnection : IDuplexPipe, IDisposable
{
    private readonly PipeReader _socket;
    private readonly Pipe _toKestrel = new(new PipeOptions(useSynchronizationContext: false));
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _closed = new();
    private readonly TaskCompletionSource _hijackEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly PipeWriter _socketOutput;
    private readonly SwitchableWriter _fromKestrel;
    private Pipe? _diverted;

    private HijackableConnection(IDuplexPipe transport)
    {
        _socket = transport.Input;
        _socketOutput = transport.Output;
        _fromKestrel = new SwitchableWriter(transport.Output);
    }

    public PipeReader Input => _toKestrel.Reader;

    public PipeWriter Output => _fromKestrel;

    public void Dispose() => _closed.Dispose();

    /// <summary>Installs the shim on every connection of an endpoint.</summary>
    public static IConnectionBuilder Install(IConnectionBuilder builder) =>
        builder.Use(next => async connection =>
        {
            var shim = new HijackableConnection(connection.Transport);
            await using var context = new ShimmedContext(connection, shim);
            connection.Items[typeof(HijackableConnection)] = shim;
            Task pump = shim.PumpAsync();
            try
            {
                await next(context).ConfigureAwait(false);
            }
            finally
            {
                shim.EndHijack();
                await pump.ConfigureAwait(false);
                await shim._socket.CompleteAsync().ConfigureAwait(false);
            }
        });

    /// <summary>The shim of the connection behind a request, when the endpoint was set up with it.</summary>
    public static HijackableConnection? Of(Microsoft.AspNetCore.Http.HttpContext context) =>
        context.Features.Get<IConnectionItemsFeature>()?.Items.TryGetValue(typeof(HijackableConnection), out object? value) == true
            ? value as HijackableConnection
            : null;

    /// <summary>From now on the client's bytes, and its end of input, come to the returned stream, not to Kestrel.</summary>
    public Stream Divert()
    {
        lock (_gate)
        {
            _diverted ??= new Pipe(new PipeOptions(useSynchronizationContext: false));
            return _diverted.Reader.AsStream();
        }
    }

    /// <summary>
    /// Takes the connection over below Kestrel, for an upgrade Kestrel will not do (a request with a body, such as
    /// <c>POST /exec/{id}/start</c>): writes <paramref name="responseHead"/> (a complete status line and headers) straight
    /// to the socket, and from now on whatever Kestrel writes on this connection is dropped. Call it only while the
    /// request's body has been read and its response not started.
    /// </summary>
    public async Task<Stream> TakeOverAsync(ReadOnlyMemory<byte> responseHead)
    {
        Stream input = Divert();
        _fromKestrel.Discard();
        await _socketOutput.WriteAsync(responseHead).ConfigureAwait(false);
        return new DuplexResponseStream(input, _socketOutput.AsStream(leaveOpen: true), this);
    }

    /// <summary>
    /// The hijacking endpoint is done: stop reading the client and let Kestrel see the end of input, so it
    /// closes the connection now rather than waiting for a client that never half-closes.
    /// </summary>
    public void EndHijack()
    {
        if (_hijackEnded.TrySetResult())
        {
            _socket.CancelPendingRead();
        }
    }

    private async Task PumpAsync()
    {
        try
        {
            while (true)
            {
                ReadResult result = await _socket.ReadAsync().ConfigureAwait(false);
                PipeWriter target = Target();
                foreach (ReadOnlyMemory<byte> segment in result.Buffer)
                {
                    await target.WriteAsync(segment).ConfigureAwait(false);
                }

                _socket.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is IOException or ConnectionResetException or InvalidOperationException or OperationCanceledException)
        {
            // The socket went away or Kestrel finished with the connection: end of input either way.
        }

        Pipe? diverted;
        lock (_gate)
        {
            diverted = _diverted;
        }

        if (diverted is not null)
        {
            await diverted.Writer.CompleteAsync().ConfigureAwait(false); // the hijacker sees EOF; Kestrel sees nothing
            await _hijackEnded.Task.ConfigureAwait(false);
            await _toKestrel.Writer.CompleteAsync().ConfigureAwait(false);
        }
        else
        {
            await _toKestrel.Writer.CompleteAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Kestrel aborts the response when the connection's "closed" token fires, and the socket transport fires it
    /// at the client's FIN. The token Kestrel sees fires with the real one, unless the connection was diverted:
    /// then the hijacking endpoint decides when the connection ends.
    /// </summary>
    private void OnTransportClosed()
    {
        lock (_gate)
        {
            if (_diverted is not null)
            {
                return;
            }
        }

        _closed.Cancel();
    }

    /// <summary>The connection as Kestrel's HTTP layer sees it: our pipes and our closed token.</summary>
    private sealed class ShimmedContext : ConnectionContext
    {
        private readonly ConnectionContext _inner;
        private readonly HijackableConnection _shim;
        private readonly CancellationTokenRegistration _registration;

        public ShimmedContext(ConnectionContext inner, HijackableConnection shim)
        {
            _inner = inner;
            _shim = shim;
            _registration = inner.ConnectionClosed.UnsafeRegister(static state => ((HijackableConnection)state!).OnTransportClosed(), shim);
        }

        public override string ConnectionId { get => _inner.ConnectionId; set => _inner.ConnectionId = value; }

        public override Microsoft.AspNetCore.Http.Features.IFeatureCollection Features => _inner.Features;

        public override IDictionary<object, object?> Items { get => _inner.Items; set => _inner.Items = value; }

        public override IDuplexPipe Transport { get => _shim; set => throw new NotSupportedException(); }

        public override CancellationToken ConnectionClosed { get => _shim._closed.Token; set => throw new NotSupportedException(); }

        public override System.Net.EndPoint? LocalEndPoint { get => _inner.LocalEndPoint; set => _inner.LocalEndPoint = value; }

        public override System.Net.EndPoint? RemoteEndPoint { get => _inner.RemoteEndPoint; set => _inner.RemoteEndPoint = value; }

        public override void Abort(ConnectionAbortedException abortReason) => _inner.Abort(abortReason);

        public override void Abort() => _inner.Abort();

        public override async ValueTask DisposeAsync()
        {
            await _registration.DisposeAsync().ConfigureAwait(false);
            _shim.Dispose();
            await base.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Kestrel's view of the socket's output: passed through, until a take-over makes it a sink.</summary>
    private sealed class SwitchableWriter(PipeWriter inner) : PipeWriter
    {
        private volatile bool _discard;
        private byte[] _scratch = [];

        public void Discard() => _discard = true;

        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

        public override long UnflushedBytes => _discard ? 0 : inner.UnflushedBytes;

        public override void Advance(int bytes)
        {
            if (!_discard)
            {
                inner.Advance(bytes);
            }
        }

        public override Memory<byte> GetMemory(int sizeHint = 0) => _discard ? Scratch(sizeHint) : inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => _discard ? Scratch(sizeHint).Span : inner.GetSpan(sizeHint);

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) =>
            _discard ? new ValueTask<FlushResult>(new FlushResult(isCanceled: false, isCompleted: false)) : inner.FlushAsync(cancellationToken);

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);

        private Memory<byte> Scratch(int sizeHint)
        {
            if (_scratch.Length < Math.Max(sizeHint, 4096))
            {
                _scratch = new byte[Math.Max(sizeHint, 4096)];
            }

            return _scratch;
        }
    }

    private PipeWriter Target()
    {
        lock (_gate)
        {
            return _diverted?.Writer ?? _toKestrel.Writer;
        }
    }
}
