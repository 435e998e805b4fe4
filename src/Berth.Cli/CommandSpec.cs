using System.Text;
using Berth.Cli.Parsing;

namespace Berth.Cli;

/// <summary>
/// One command of the tree (<c>berth container ls</c>): its names, argument rules, flags and handler.
/// The same spec may be mounted twice (<c>berth ps</c> and <c>berth container ls</c>), as docker's aliases are.
/// </summary>
internal sealed record CommandSpec
{
    public required string Name { get; init; }

    public IReadOnlyList<string> Aliases { get; init; } = [];

    /// <summary>What follows the command path in the usage line (<c>[OPTIONS] CONTAINER [CONTAINER...]</c>).</summary>
    public string Usage { get; init; } = "[OPTIONS]";

    public required string Summary { get; init; }

    /// <summary>Where root help lists it: "Common Commands", "Management Commands" or null for "Commands".</summary>
    public string? Group { get; init; }

    /// <summary>False for run/create/exec: flags end at the first argument (the image).</summary>
    public bool Interspersed { get; init; } = true;

    public int MinArgs { get; init; }

    public int MaxArgs { get; init; } = int.MaxValue;

    /// <summary>Every full path that reaches this command, for the "Aliases:" block of help.</summary>
    public IReadOnlyList<string> AliasPaths { get; init; } = [];

    public Action<FlagSet>? DefineFlags { get; init; }

    public Func<CommandContext, ParsedArgs, Task<int>>? Handler { get; init; }

    public List<CommandSpec> Subcommands { get; init; } = [];

    /// <summary>Help of a command that dispatches its own subcommands (<c>compose</c>); replaces the generated help.</summary>
    public Func<string>? CustomHelp { get; init; }

    public bool Matches(string word) => Name == word || Aliases.Contains(word);

    public FlagSet BuildFlags()
    {
        var flags = new FlagSet();
        DefineFlags?.Invoke(flags);
        flags.Bool("help", flags.HasShorthand('h') ? null : 'h', "Print usage", hidden: true);
        return flags;
    }

    public string UseLine(string path) => Usage.Length == 0 ? path : path + " " + Usage;

    /// <summary>Help in docker's layout.</summary>
    public string Help(string path)
    {
        if (CustomHelp is not null)
        {
            return CustomHelp();
        }

        var sb = new StringBuilder();
        sb.Append('\n').Append("Usage:  ").Append(UseLine(path)).Append("\n\n").Append(Summary).Append('\n');
        if (AliasPaths.Count > 0)
        {
            sb.Append("\nAliases:\n  ").Append(string.Join(", ", AliasPaths)).Append('\n');
        }

        if (Subcommands.Count > 0)
        {
            sb.Append("\nCommands:\n");
            foreach (CommandSpec sub in Subcommands)
            {
                sb.Append("  ").Append(sub.Name.PadRight(12)).Append(sub.Summary).Append('\n');
            }
        }

        string options = BuildFlags().Usages();
        if (options.Length > 0)
        {
            sb.Append("\nOptions:\n").Append(options);
        }

        if (Subcommands.Count > 0)
        {
            sb.Append("\nRun '").Append(path).Append(" COMMAND --help' for more information on a command.\n");
        }

        return sb.ToString();
    }

    /// <summary>Checks the argument count; the message is docker's (<c>"berth rm" requires at least 1 argument.</c>).</summary>
    public string? CheckArgs(string path, int count)
    {
        string? problem = null;
        if (MinArgs == 0 && MaxArgs == 0 && count > 0)
        {
            problem = $"\"{path}\" accepts no arguments.";
        }
        else if (MinArgs == MaxArgs && count != MinArgs)
        {
            problem = $"\"{path}\" requires exactly {MinArgs} {Plural(MinArgs)}.";
        }
        else if (count < MinArgs && MaxArgs == int.MaxValue)
        {
            problem = $"\"{path}\" requires at least {MinArgs} {Plural(MinArgs)}.";
        }
        else if (count < MinArgs || count > MaxArgs)
        {
            problem = MinArgs == 0
                ? $"\"{path}\" requires at most {MaxArgs} {Plural(MaxArgs)}."
                : $"\"{path}\" requires at least {MinArgs} and at most {MaxArgs} {Plural(MaxArgs)}.";
        }

        return problem is null ? null : $"{problem}\nSee '{path} --help'.\n\nUsage:  {UseLine(path)}\n\n{Summary}";
    }

    private static string Plural(int n) => n == 1 ? "argument" : "arguments";
}
