namespace Berth.Runtime;

/// <summary>
/// One OCI runtime the daemon knows by name (daemon.json's <c>runtimes</c>, <c>--add-runtime</c>, or the built-in
/// <c>runc</c>): its binary and the arguments that go before every command, as Docker's <c>runtimeArgs</c> do.
/// </summary>
public sealed record OciRuntimeEntry(string Path, IReadOnlyList<string> Args)
{
    /// <summary>The name every daemon has; it cannot be redefined.</summary>
    public const string Runc = "runc";
}
