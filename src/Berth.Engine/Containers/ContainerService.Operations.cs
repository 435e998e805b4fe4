using System.Globalization;
using Berth.Primitives;
using Microsoft.Extensions.Logging;

namespace Berth.Engine.Containers;

/// <summary>restart, rename and top.</summary>
public sealed partial class ContainerService
{
    /// <summary>Stops the container if it runs (as <c>stop</c> does), then starts it again.</summary>
    public async Task RestartAsync(string nameOrId, int? timeoutSeconds, string? signal, CancellationToken cancellationToken)
    {
        ContainerEntry entry = Lookup(nameOrId);
        await StopAsync(entry.Record.Id, timeoutSeconds, signal, cancellationToken).ConfigureAwait(false);
        await StartAsync(entry.Record.Id, cancellationToken).ConfigureAwait(false);
        Emit(entry.Record, "restart");
    }

    public async Task RenameAsync(string nameOrId, string newName, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(newName) || newName.Trim('/').Length == 0)
        {
            throw EngineException.Invalid("Neither old nor new names may be empty");
        }

        if (!ValidName(newName))
        {
            throw EngineException.Invalid($"Invalid container name ({newName}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
        }

        ContainerEntry entry = Lookup(nameOrId);
        string name = "/" + newName.TrimStart('/');
        await entry.Transition.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ContainerRecord record = entry.Record;
            if (record.Name == name)
            {
                throw EngineException.Invalid("Renaming a container with the same name as its current name");
            }

            ContainerRecord renamed = record with { Name = name };
            if (!_metadata.TryRenameContainer(record.Id, name, Serialize(renamed)))
            {
                string owner = _containers.Values.FirstOrDefault(e => e.Record.Name == name)?.Record.Id ?? "";
                throw EngineException.Conflict($"Error when allocating new name: Conflict. The container name \"{name}\" is already in use by container \"{owner}\". You have to remove (or rename) that container to be able to reuse that name.");
            }

            entry.Publish(renamed);
            Emit(renamed, "rename", ("oldName", record.Name));
            LogRenamed(record.Id, record.Name, name);
        }
        finally
        {
            entry.Transition.Release();
        }
    }

    /// <summary>
    /// The processes of a running container as <c>ps</c> on the host shows them (<paramref name="psArgs"/>, default
    /// <c>-ef</c>), keeping the header and the lines whose PID column is one of the container's, as Docker does.
    /// </summary>
    public async Task<(IReadOnlyList<string> Titles, IReadOnlyList<IReadOnlyList<string>> Processes)> TopAsync(string nameOrId, string? psArgs, CancellationToken cancellationToken)
    {
        ContainerEntry entry = Lookup(nameOrId);
        if (!entry.Record.IsRunning)
        {
            throw EngineException.Conflict($"Container {entry.Record.Id} is not running");
        }

        IReadOnlySet<int> pids = await _runtime.ProcessesAsync(entry.Record.Id, cancellationToken).ConfigureAwait(false);
        string[] args = string.IsNullOrWhiteSpace(psArgs) ? ["-ef"] : psArgs.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        string output = await Runtime.HostCommand.RunAsync("ps", args, cancellationToken).ConfigureAwait(false);
        return ParsePs(output, pids);
    }

    /// <summary>Splits <c>ps</c> output into titles and rows of the given pids; the last column (CMD) keeps its spaces.</summary>
    public static (IReadOnlyList<string> Titles, IReadOnlyList<IReadOnlyList<string>> Processes) ParsePs(string output, IReadOnlySet<int> pids)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(pids);
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length == 0)
        {
            throw EngineException.Invalid("Error running top: ps printed nothing");
        }

        string[] titles = lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        int pidColumn = Array.IndexOf(titles, "PID");
        if (pidColumn < 0)
        {
            throw EngineException.Invalid("Couldn't find PID field in ps output");
        }

        var processes = new List<IReadOnlyList<string>>();
        foreach (string line in lines.Skip(1))
        {
            string[] fields = line.Split(' ', titles.Length, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (fields.Length > pidColumn && int.TryParse(fields[pidColumn], NumberStyles.None, CultureInfo.InvariantCulture, out int pid) && pids.Contains(pid))
            {
                processes.Add(fields);
            }
        }

        return (titles, processes);
    }

    [LoggerMessage(EventId = 131, Level = LogLevel.Information, Message = "container {Id} renamed from {OldName} to {NewName}")]
    private partial void LogRenamed(string id, string oldName, string newName);
}
