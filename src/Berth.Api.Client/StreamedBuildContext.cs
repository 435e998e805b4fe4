using System.IO.Pipelines;

namespace Berth.Api.Client;

/// <summary>
/// A build context tar produced while it is sent: a background task writes it into a pipe that the request body
/// reads, so memory holds at most the pipe's window whatever the context's size. A failure while writing (a file
/// that cannot be read) ends the body with that error and is kept in <see cref="Writing"/>.
/// </summary>
public sealed class StreamedBuildContext : IAsyncDisposable
{
    // Enough to keep the socket busy while the next file is opened; small enough that a 5 GB context costs nothing.
    private static readonly PipeOptions Window = new(pauseWriterThreshold: 1 << 20, resumeWriterThreshold: 1 << 19, useSynchronizationContext: false);

    private readonly Pipe _pipe = new(Window);
    private readonly CancellationTokenSource _stop;
    private int _disposed;

    internal StreamedBuildContext(string root, string dockerfile, string dockerfileName, CancellationToken cancellationToken)
    {
        DockerfileName = dockerfileName;
        Archive = _pipe.Reader.AsStream();
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Writing = Task.Run(() => WriteAsync(root, dockerfile, _stop.Token), CancellationToken.None);
    }

    /// <summary>The Dockerfile's name inside the context.</summary>
    public string DockerfileName { get; }

    /// <summary>The tar, to be read once (the request body).</summary>
    public Stream Archive { get; }

    /// <summary>The writer; faulted with the reason when the context could not be read.</summary>
    public Task Writing { get; }

    private async Task WriteAsync(string root, string dockerfile, CancellationToken cancellationToken)
    {
        try
        {
            Stream output = _pipe.Writer.AsStream(leaveOpen: true);
            await using (output.ConfigureAwait(false))
            {
                await BuildContextArchive.WriteAsync(output, root, dockerfile, DockerfileName, cancellationToken).ConfigureAwait(false);
            }

            await _pipe.Writer.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            await _pipe.Writer.CompleteAsync(e).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Stops the writer if the request ended first (the daemon refused the build) and waits for it; never throws
    /// (look at <see cref="Writing"/> for the writer's failure). Safe to call more than once.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await _pipe.Reader.CompleteAsync().ConfigureAwait(false);
        await Writing.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }
}
