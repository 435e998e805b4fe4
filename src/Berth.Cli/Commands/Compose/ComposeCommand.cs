using System.Text;
using Berth.Cli.Parsing;
using Berth.Compose;
using Berth.Compose.Engine;
using Berth.Compose.Loading;

namespace Berth.Cli.Commands.Compose;

/// <summary>What a compose subcommand runs with: the context, its parsed flags and how to load the project.</summary>
internal sealed class ComposeInvocation(CommandContext ctx, ParsedArgs args, ParsedArgs projectFlags)
{
    private ComposeProject? _project;
    private ComposeEngine? _engine;

    public CommandContext Context => ctx;

    public ParsedArgs Args => args;

    public IReadOnlyList<string> Positionals => args.Positionals;

    public ComposeEngine Engine => _engine ??= new ComposeEngine(ctx.Client, new CliReporter(ctx));

    /// <summary>A project flag given before or after the subcommand (<c>compose -f a.yaml up</c>, <c>compose up -f a.yaml</c>).</summary>
    private IReadOnlyList<string> ProjectList(string name) => [.. projectFlags.List(name), .. args.List(name)];

    private string? ProjectString(string name) => args.String(name) ?? projectFlags.String(name);

    public ComposeOptions Options(IReadOnlyList<string> targets) => new()
    {
        Files = ProjectList("file"),
        ProjectName = ProjectString("project-name"),
        ProjectDirectory = ProjectString("project-directory"),
        EnvFiles = ProjectList("env-file"),
        Profiles = [.. ProjectList("profile").SelectMany(p => p.Split(',', StringSplitOptions.RemoveEmptyEntries))],
        TargetServices = targets,
        Environment = ctx.Environment,
        ReadStdin = () =>
        {
            using var reader = new StreamReader(ctx.OpenStdin());
            return reader.ReadToEnd();
        },
    };

    /// <summary>Loads the project (once), printing its warnings to stderr.</summary>
    public ComposeProject Project(IReadOnlyList<string>? targets = null)
    {
        if (_project is not null)
        {
            return _project;
        }

        _project = ComposeLoader.Load(Options(targets ?? []));
        foreach (string warning in _project.Warnings)
        {
            ctx.Err.WriteLine($"WARN[0000] {warning}");
        }

        return _project;
    }

    /// <summary>The project name when no file is needed (<c>down -p NAME</c>, <c>ps -p NAME</c> work without one).</summary>
    public (string Name, ComposeProject? Project) ProjectOrName()
    {
        try
        {
            ComposeProject project = Project();
            return (project.Name, project);
        }
        catch (ComposeException) when (ProjectString("project-name") is { Length: > 0 } name && ProjectList("file").Count == 0)
        {
            return (name, null);
        }
    }

    /// <summary>The services named on the command line, checked against the project when there is one.</summary>
    public IReadOnlyList<string> Services(ComposeProject? project, int skip = 0)
    {
        List<string> names = [.. args.Positionals.Skip(skip)];
        if (project is not null)
        {
            foreach (string name in names)
            {
                if (project.Services.All(s => s.Name != name) && !project.DisabledServices.Contains(name))
                {
                    throw new StatusException(1, $"no such service: {name}");
                }
            }
        }

        return names;
    }
}

/// <summary>Prints the engine's progress the way <c>docker compose --progress plain</c> does, to stderr.</summary>
internal sealed class CliReporter(CommandContext ctx) : IComposeReporter
{
    private readonly Lock _lock = new();

    public bool Quiet { get; set; }

    public void Report(string kind, string name, string status)
    {
        if (Quiet)
        {
            return;
        }

        lock (_lock)
        {
            ctx.Err.Write($" {kind} {name}  {status}\n");
        }
    }

    public void Warn(string message)
    {
        lock (_lock)
        {
            ctx.Err.Write($"WARN[0000] {message}\n");
        }
    }

    public void Output(string text)
    {
        if (Quiet)
        {
            return;
        }

        lock (_lock)
        {
            ctx.Err.Write(text);
        }
    }
}

/// <summary>
/// <c>berth compose</c>: docker compose's command set over the compose library. The project flags (-f, -p,
/// --project-directory, --env-file, --profile) go before the subcommand and, as in docker compose (whose
/// flags are cobra persistent flags), also after it unless the subcommand has a flag of that shorthand.
/// </summary>
internal static class ComposeCommand
{
    private static void ProjectFlags(FlagSet f, bool withShorthands)
    {
        Add(f, "file", withShorthands ? 'f' : null, FlagKind.List, "Compose configuration files", "stringArray");
        Add(f, "project-name", withShorthands ? 'p' : null, FlagKind.String, "Project name", "string");
        Add(f, "project-directory", null, FlagKind.String, "Specify an alternate working directory\n(default: the path of the, first specified, Compose file)", "string");
        Add(f, "env-file", null, FlagKind.List, "Specify an alternate environment file", "stringArray");
        Add(f, "profile", null, FlagKind.List, "Specify a profile to enable", "stringArray");
        Add(f, "ansi", null, FlagKind.String, "Control when to print ANSI control characters (\"never\"|\"always\"|\"auto\")", "string", hidden: !withShorthands);
        Add(f, "progress", null, FlagKind.String, "Set type of progress output (auto, tty, plain, json, quiet)", "string", hidden: !withShorthands);
        Add(f, "compatibility", null, FlagKind.Bool, "Run compose in backward compatibility mode", null, hidden: !withShorthands);
        Add(f, "parallel", null, FlagKind.Int, "Control max parallelism, -1 for unlimited", "int", hidden: !withShorthands);
        Add(f, "dry-run", null, FlagKind.Bool, "Execute command in dry run mode", null, hidden: true);
    }

    private static void Add(FlagSet f, string name, char? shorthand, FlagKind kind, string usage, string? typeName, bool hidden = false)
    {
        if (f.Find(name) is not null)
        {
            return;
        }

        char? s = shorthand is char c && !f.HasShorthand(c) ? c : null;
        f.Add(new FlagSpec { Name = name, Shorthand = s, Kind = kind, Usage = usage, TypeName = typeName, Hidden = hidden });
    }

    public static CommandSpec Create() => new()
    {
        Name = "compose",
        Usage = "[OPTIONS] COMMAND",
        Summary = "Define and run multi-container applications",
        Group = "Management Commands",
        Interspersed = false,
        DefineFlags = f => ProjectFlags(f, withShorthands: true),
        Handler = DispatchAsync,
        CustomHelp = () => Help(Subcommands()),
    };

    /// <summary>The subcommands; each handler gets the invocation (flags after the subcommand, project flags before it).</summary>
    internal static List<(CommandSpec Spec, Func<ComposeInvocation, Task<int>> Run)> Subcommands() =>
    [
        .. ComposeLifecycleCommands.All(),
        .. ComposeQueryCommands.All(),
    ];

    private static async Task<int> DispatchAsync(CommandContext ctx, ParsedArgs projectFlags)
    {
        List<(CommandSpec Spec, Func<ComposeInvocation, Task<int>> Run)> subcommands = Subcommands();
        if (projectFlags.Positionals.Count == 0)
        {
            await ctx.Out.WriteAsync(Help(subcommands)).ConfigureAwait(false);
            return 0;
        }

        string word = projectFlags.Positionals[0];
        (CommandSpec Spec, Func<ComposeInvocation, Task<int>> Run) sub = subcommands.FirstOrDefault(s => s.Spec.Matches(word));
        if (sub.Spec is null)
        {
            throw new StatusException(1, $"unknown docker command: \"compose {word}\"");
        }

        string path = "berth compose " + sub.Spec.Name;
        CommandSpec spec = sub.Spec with
        {
            DefineFlags = f =>
            {
                sub.Spec.DefineFlags?.Invoke(f);
                ProjectFlags(f, withShorthands: true);
            },
        };
        ParsedArgs parsed = spec.BuildFlags().Parse([.. projectFlags.Positionals.Skip(1)], spec.Interspersed);
        if (parsed.Bool("help"))
        {
            await ctx.Out.WriteAsync(sub.Spec.Help(path)).ConfigureAwait(false);
            return 0;
        }

        if (spec.CheckArgs(path, parsed.Positionals.Count) is { } problem)
        {
            throw new StatusException(1, problem);
        }

        ctx.CommandPath = path;
        try
        {
            return await sub.Run(new ComposeInvocation(ctx, parsed, projectFlags)).ConfigureAwait(false);
        }
        catch (ComposeException e)
        {
            throw new StatusException(e.Message.Contains("no configuration file provided", StringComparison.Ordinal) ? 14 : 15, e.Message);
        }
    }

    private static string Help(List<(CommandSpec Spec, Func<ComposeInvocation, Task<int>> Run)> subcommands)
    {
        var sb = new StringBuilder("\nUsage:  berth compose [OPTIONS] COMMAND\n\nDefine and run multi-container applications with Berth\n\nOptions:\n");
        var flags = new FlagSet();
        ProjectFlags(flags, withShorthands: true);
        sb.Append(flags.Usages()).Append("\nCommands:\n");
        foreach ((CommandSpec spec, _) in subcommands.OrderBy(s => s.Spec.Name, StringComparer.Ordinal))
        {
            sb.Append("  ").Append(spec.Name.PadRight(12)).Append(spec.Summary).Append('\n');
        }

        sb.Append("\nRun 'berth compose COMMAND --help' for more information on a command.\n");
        return sb.ToString();
    }
}
