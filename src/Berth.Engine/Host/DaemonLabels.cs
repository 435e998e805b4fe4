namespace Berth.Engine.Host;

/// <summary>The daemon's labels (daemon.json <c>labels</c>, <c>--label</c>), shown by <c>info</c>; SIGHUP replaces them.</summary>
public sealed class DaemonLabels
{
    private IReadOnlyList<string> _current = [];

    public IReadOnlyList<string> Current
    {
        get => Volatile.Read(ref _current);
        set => Volatile.Write(ref _current, value ?? []);
    }
}
