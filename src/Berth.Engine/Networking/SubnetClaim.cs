using System.Diagnostics;
using Berth.Primitives;

namespace Berth.Engine.Networking;

/// <summary>
/// A host-wide lock held from choosing a bridge network's subnet until the bridge has its address, and so the route
/// the next choice reads. Without it two daemons starting together (or creating networks together) read the same
/// free routes, take the same subnet, and the host then routes both bridges' containers to one of the two bridges.
/// The lock is an advisory flock (what .NET takes for <see cref="FileShare.None"/> on Unix) on a file in /run/lock,
/// the same for every daemon whatever its roots; the kernel releases it when its holder dies.
/// </summary>
internal static class SubnetClaim
{
    private const string LockPath = "/run/lock/berth-subnets.lock";

    /// <summary>Choosing a subnet and making a bridge take milliseconds: waiting this long means something is stuck.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(5);

    public static async Task<IDisposable> AcquireAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(LockPath)!);
        var waited = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return new FileStream(LockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 1);
            }
            catch (IOException) when (waited.Elapsed < Patience)
            {
                // Held by another daemon (or another network being created here): flock has no async wait, so poll.
                await Task.Delay(RetryDelay, cancellationToken).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                throw new EngineException(ErrorKind.Internal, $"could not lock {LockPath} to choose a network's subnet within {Patience.TotalSeconds:0} s: {e.Message}");
            }
        }
    }
}
