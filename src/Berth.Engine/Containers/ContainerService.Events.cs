using System.Globalization;
using Berth.Engine.Events;

namespace Berth.Engine.Containers;

/// <summary>Container events as Docker reports them: the actor is the container, its attributes its labels, image and name.</summary>
public sealed partial class ContainerService
{
    /// <summary>The engine's event stream (also used by exec and the health checker for their container events).</summary>
    internal EventLog Events => _events;

    /// <summary>Publishes a container event; <paramref name="extra"/> adds exitCode, signal, execID... to the attributes.</summary>
    internal void Emit(ContainerRecord record, string action, params (string Key, string Value)[] extra)
    {
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach ((string key, string value) in record.Config.Labels ?? [])
        {
            attributes[key] = value;
        }

        attributes["image"] = record.Config.Image ?? record.ImageId;
        attributes["name"] = record.Name.TrimStart('/');
        foreach ((string key, string value) in extra)
        {
            attributes[key] = value;
        }

        _events.Publish("container", action, record.Id, attributes);
    }

    /// <summary>Publishes an event of the container with this id, if it still exists.</summary>
    internal void Emit(string id, string action, params (string Key, string Value)[] extra)
    {
        if (_containers.TryGetValue(id, out ContainerEntry? entry))
        {
            Emit(entry.Record, action, extra);
        }
    }

    /// <summary>Docker's exec actions name the command: <c>exec_start: sh -c true</c>.</summary>
    internal static string ExecAction(string action, IReadOnlyList<string> command) => action + ": " + string.Join(' ', command);

    private void EmitDie(ContainerRecord record, DateTimeOffset? startedAt, int exitCode, bool oomKilled)
    {
        if (oomKilled)
        {
            Emit(record, "oom");
        }

        string duration = startedAt is { } started && record.State.FinishedAt is { } finished
            ? ((long)Math.Max(0, (finished - started).TotalSeconds)).ToString(CultureInfo.InvariantCulture)
            : "0";
        Emit(record, "die", ("exitCode", exitCode.ToString(CultureInfo.InvariantCulture)), ("execDuration", duration));
    }

    private static string SignalText(int signal) => signal.ToString(CultureInfo.InvariantCulture);
}
