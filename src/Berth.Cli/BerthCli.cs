using System.Text;
using Berth.Api.Client;
using Berth.Cli.Commands;
using Berth.Cli.Parsing;
using Berth.Cli.Templates;

namespace Berth.Cli;

/// <summary>The command tree and the top-level flow: global flags, command lookup, help, errors and exit codes.</summary>
internal static class BerthCli
{
    public const string RootPath = "berth";

    /// <summary>Builds the tree: management commands (<c>container</c>, <c>image</c>, <c>system</c>) and docker's top-level shortcuts.</summary>
    public static CommandSpec BuildTree()
    {
        string[] psPaths = ["berth container ls", "berth container list", "berth container ps", "berth ps"];
        string[] rmPaths = ["berth container rm", "berth container remove", "berth rm"];
        string[] imagesPaths = ["berth image ls", "berth image list", "berth images"];
        string[] rmiPaths = ["berth image rm", "berth image remove", "berth rmi"];
        string[] tagPaths = ["berth image tag", "berth tag"];
        string[] historyPaths = ["berth image history", "berth history"];
        string[] savePaths = ["berth image save", "berth save"];
        string[] loadPaths = ["berth image load", "berth load"];

        var container = new CommandSpec
        {
            Name = "container",
            Usage = "COMMAND",
            Summary = "Manage containers",
            Group = "Management Commands",
            Subcommands =
            [
                AttachCommand.Create("attach", ["berth container attach", "berth attach"]),
                ChangeCommands.Commit("commit", ["berth container commit", "berth commit"]),
                CopyCommand.Create("cp", ["berth container cp", "berth cp"]),
                RunCommand.CreateCreate("create", ["berth container create", "berth create"]),
                ChangeCommands.Diff("diff", ["berth container diff", "berth diff"]),
                ExecCommand.Create("exec", ["berth container exec", "berth exec"]),
                ChangeCommands.Export("export", ["berth container export", "berth export"]),
                ContainerCommands.Inspect(),
                ContainerControlCommands.Kill("kill", ["berth container kill", "berth kill"]),
                ContainerCommands.Logs("logs", ["berth container logs", "berth logs"]),
                ContainerCommands.Ps("ls", ["list", "ps"], psPaths),
                ContainerControlCommands.Pause("pause", ["berth container pause", "berth pause"]),
                LifecycleCommands.ContainerPrune(),
                ContainerControlCommands.Rename("rename", ["berth container rename", "berth rename"]),
                ContainerControlCommands.Restart("restart", ["berth container restart", "berth restart"]),
                ContainerCommands.Rm("rm", ["remove"], rmPaths),
                RunCommand.CreateRun("run", ["berth container run", "berth run"]),
                ContainerCommands.Start("start", ["berth container start", "berth start"]),
                StatsCommand.Stats("stats", ["berth container stats", "berth stats"]),
                ContainerControlCommands.Stop("stop", ["berth container stop", "berth stop"]),
                ContainerControlCommands.Top("top", ["berth container top", "berth top"]),
                ContainerControlCommands.Unpause("unpause", ["berth container unpause", "berth unpause"]),
                LifecycleCommands.Update("update", ["berth container update", "berth update"]),
                Commands.NetworkCommands.Port("port", ["berth container port", "berth port"]),
                ContainerCommands.Wait("wait", ["berth container wait", "berth wait"]),
            ],
        };

        var image = new CommandSpec
        {
            Name = "image",
            Usage = "COMMAND",
            Summary = "Manage images",
            Group = "Management Commands",
            Subcommands =
            [
                ImageCommands.Bootstrap(),
                ImageCommands.History("history", historyPaths),
                ChangeCommands.Import("import", ["berth image import", "berth import"]),
                ImageCommands.Inspect(),
                ImageCommands.List("ls", ["list"], imagesPaths),
                ImageCommands.Load("load", loadPaths),
                BuildCommand.Create("build", ["berth image build", "berth build"]),
                ImageCommands.Prune(),
                RegistryCommands.Pull("pull", ["berth image pull", "berth pull"]),
                RegistryCommands.Push("push", ["berth image push", "berth push"]),
                ImageCommands.Remove("rm", ["remove"], rmiPaths),
                ImageCommands.Save("save", savePaths),
                ImageCommands.Tag("tag", tagPaths),
            ],
        };

        var system = new CommandSpec
        {
            Name = "system",
            Usage = "COMMAND",
            Summary = "Manage Berth",
            Group = "Management Commands",
            Subcommands =
            [
                LifecycleCommands.SystemDf(),
                LifecycleCommands.Events("events", ["berth system events", "berth events"]),
                SystemCommands.Info("info", ["berth system info", "berth info"]),
                LifecycleCommands.SystemPrune(),
            ],
        };

        return new CommandSpec
        {
            Name = RootPath,
            Usage = "[OPTIONS] COMMAND",
            Summary = "A Docker-compatible container engine",
            Subcommands =
            [
                RunCommand.CreateRun("run", ["berth container run", "berth run"]) with { Group = "Common Commands" },
                ExecCommand.Create("exec", ["berth container exec", "berth exec"]) with { Group = "Common Commands" },
                ContainerCommands.Ps("ps", [], psPaths) with { Group = "Common Commands" },
                ImageCommands.List("images", [], imagesPaths) with { Group = "Common Commands" },
                SystemCommands.Version() with { Group = "Common Commands" },
                SystemCommands.Info("info", ["berth system info", "berth info"]) with { Group = "Common Commands" },
                container,
                image,
                Commands.Compose.ComposeCommand.Create(),
                BuildCommand.BuilderGroup(),
                Commands.NetworkCommands.Group(),
                RegistryServerCommand.Create(),
                system,
                AttachCommand.Create("attach", ["berth container attach", "berth attach"]),
                ChangeCommands.Commit("commit", ["berth container commit", "berth commit"]),
                CopyCommand.Create("cp", ["berth container cp", "berth cp"]),
                VolumeCommands.Group(),
                RunCommand.CreateCreate("create", ["berth container create", "berth create"]),
                ChangeCommands.Diff("diff", ["berth container diff", "berth diff"]),
                LifecycleCommands.Events("events", ["berth system events", "berth events"]),
                ChangeCommands.Export("export", ["berth container export", "berth export"]),
                ImageCommands.History("history", historyPaths),
                ChangeCommands.Import("import", ["berth image import", "berth import"]),
                InspectCommand.Create(),
                ImageCommands.Load("load", loadPaths),
                BuildCommand.Create("build", ["berth image build", "berth build"]),
                RegistryCommands.Login(),
                RegistryCommands.Logout(),
                RegistryCommands.Search(),
                RegistryCommands.Pull("pull", ["berth image pull", "berth pull"]),
                RegistryCommands.Push("push", ["berth image push", "berth push"]),
                ContainerControlCommands.Kill("kill", ["berth container kill", "berth kill"]),
                ContainerCommands.Logs("logs", ["berth container logs", "berth logs"]),
                ContainerControlCommands.Pause("pause", ["berth container pause", "berth pause"]),
                ContainerControlCommands.Rename("rename", ["berth container rename", "berth rename"]),
                ContainerControlCommands.Restart("restart", ["berth container restart", "berth restart"]),
                Commands.NetworkCommands.Port("port", ["berth container port", "berth port"]),
                ContainerCommands.Rm("rm", [], rmPaths),
                ImageCommands.Remove("rmi", [], rmiPaths),
                ImageCommands.Save("save", savePaths),
                ContainerCommands.Start("start", ["berth container start", "berth start"]),
                StatsCommand.Stats("stats", ["berth container stats", "berth stats"]),
                ContainerControlCommands.Stop("stop", ["berth container stop", "berth stop"]),
                ImageCommands.Tag("tag", tagPaths),
                ContainerControlCommands.Top("top", ["berth container top", "berth top"]),
                ContainerControlCommands.Unpause("unpause", ["berth container unpause", "berth unpause"]),
                LifecycleCommands.Update("update", ["berth container update", "berth update"]),
                ContainerCommands.Wait("wait", ["berth container wait", "berth wait"]),
            ],
        };
    }

    public static FlagSet GlobalFlags()
    {
        var f = new FlagSet();
        f.String("config", null, "Location of client config files", defaultValue: "~/.berth");
        f.String("context", 'c', "Name of the context to use to connect to the daemon (accepted; Berth has no contexts yet)");
        f.Bool("debug", 'D', "Enable debug mode");
        f.List("host", 'H', "Daemon socket to connect to");
        f.String("log-level", 'l', "Set the logging level (\"debug\", \"info\", \"warn\", \"error\", \"fatal\")", defaultValue: "info");
        f.Bool("tls", null, "Use TLS; implied by --tlsverify", hidden: true);
        f.String("tlscacert", null, "Trust certs signed only by this CA", hidden: true);
        f.String("tlscert", null, "Path to TLS certificate file", hidden: true);
        f.String("tlskey", null, "Path to TLS key file", hidden: true);
        f.Bool("tlsverify", null, "Use TLS and verify the remote", hidden: true);
        f.Bool("version", 'v', "Print version information and quit");
        f.Bool("help", 'h', "Print usage", hidden: true);
        return f;
    }

    /// <summary>Runs one invocation and returns the exit code; every error is printed here, once.</summary>
    public static async Task<int> RunAsync(IReadOnlyList<string> args, CommandContext context)
    {
        string path = RootPath;
        try
        {
            return await DispatchAsync(args, context, p => path = p).ConfigureAwait(false);
        }
        catch (FlagParseException e)
        {
            await context.Err.WriteAsync($"{e.Message}\nSee '{path} --help'.\n").ConfigureAwait(false);
            return 125;
        }
        catch (StatusException e)
        {
            if (e.Message.Length > 0)
            {
                await context.Err.WriteLineAsync(e.Message).ConfigureAwait(false);
            }

            return e.ExitCode == 0 ? 1 : e.ExitCode;
        }
        catch (OperationCanceledException) when (context.Cancellation.IsCancellationRequested)
        {
            return 130;
        }
        catch (Exception e) when (e is BerthApiException or DaemonUnavailableException or BerthProtocolException or TemplateException or FormatException or IOException)
        {
            await context.Err.WriteLineAsync(e.Message).ConfigureAwait(false);
            if (context.Globals.Debug && e.InnerException is not null)
            {
                await context.Err.WriteLineAsync(e.InnerException.ToString()).ConfigureAwait(false);
            }

            return 1;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A bug of ours: say what happened (the stack trace with --debug) rather than crash.
            await context.Err.WriteLineAsync(context.Globals.Debug ? e.ToString() : "berth: " + e.Message).ConfigureAwait(false);
            return 1;
        }
        finally
        {
            try
            {
                await context.Out.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                await context.Err.FlushAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (IOException)
            {
                // stdout closed (e.g. piped into head): nothing more to say.
            }
        }
    }

    private static async Task<int> DispatchAsync(IReadOnlyList<string> args, CommandContext context, Action<string> setPath)
    {
        ParsedArgs global = GlobalFlags().Parse(args, interspersed: false);
        context.Globals = new GlobalOptions
        {
            Host = global.List("host") is { Count: > 0 } hosts ? hosts[^1] : null,
            Debug = global.Bool("debug"),
            LogLevel = global.StringOrEmpty("log-level"),
            ConfigDir = global.String("config"),
        };

        if (global.Bool("version"))
        {
            await context.Out.WriteAsync($"Berth version {BuildInfo.Version}, build {BuildInfo.Commit}\n").ConfigureAwait(false);
            return 0;
        }

        CommandSpec root = BuildTree();
        List<string> rest = global.Positionals;
        if (rest.Count == 0)
        {
            await context.Out.WriteAsync(RootHelp(root)).ConfigureAwait(false);
            return 0;
        }

        if (rest[0] == "help")
        {
            rest = [.. rest.Skip(1), "--help"];
            if (rest.Count == 1)
            {
                await context.Out.WriteAsync(RootHelp(root)).ConfigureAwait(false);
                return 0;
            }
        }

        CommandSpec node = root;
        string path = RootPath;
        int consumed = 0;
        while (node.Subcommands.Count > 0 && consumed < rest.Count)
        {
            CommandSpec? child = node.Subcommands.FirstOrDefault(c => c.Matches(rest[consumed]));
            if (child is null)
            {
                break;
            }

            node = child;
            path += " " + child.Name;
            consumed++;
        }

        setPath(path);
        List<string> commandArgs = rest.Skip(consumed).ToList();
        if (ReferenceEquals(node, root))
        {
            throw new StatusException(1, $"berth: '{rest[0]}' is not a berth command.\nSee 'berth --help'");
        }

        if (node.Handler is null)
        {
            // A management command: only help, or an unknown subcommand.
            if (commandArgs.Count > 0 && !commandArgs[0].StartsWith('-'))
            {
                throw new StatusException(1, $"berth: '{path[(RootPath.Length + 1)..]} {commandArgs[0]}' is not a berth command.\nSee '{path} --help'");
            }

            node.BuildFlags().Parse(commandArgs, interspersed: true);
            await context.Out.WriteAsync(node.Help(path)).ConfigureAwait(false);
            return 0;
        }

        ParsedArgs parsed = node.BuildFlags().Parse(commandArgs, node.Interspersed);
        if (parsed.Bool("help"))
        {
            await context.Out.WriteAsync(node.Help(path)).ConfigureAwait(false);
            return 0;
        }

        string? argsProblem = node.CheckArgs(path, parsed.Positionals.Count);
        if (argsProblem is not null)
        {
            throw new StatusException(1, argsProblem);
        }

        context.CommandPath = path;
        return await node.Handler(context, parsed).ConfigureAwait(false);
    }

    public static string RootHelp(CommandSpec root)
    {
        var sb = new StringBuilder();
        sb.Append("\nUsage:  berth [OPTIONS] COMMAND\n\n").Append(root.Summary).Append('\n');
        foreach (string group in (string[])["Common Commands", "Management Commands", "Commands"])
        {
            var commands = root.Subcommands
                .Where(c => (c.Group ?? "Commands") == group)
                .OrderBy(c => group == "Common Commands" ? 0 : 1)
                .ThenBy(c => group == "Common Commands" ? "" : c.Name, StringComparer.Ordinal)
                .ToList();
            if (commands.Count == 0)
            {
                continue;
            }

            sb.Append('\n').Append(group).Append(":\n");
            foreach (CommandSpec c in commands)
            {
                sb.Append("  ").Append(c.Name.PadRight(12)).Append(c.Summary).Append('\n');
            }
        }

        sb.Append("\nGlobal Options:\n").Append(GlobalFlags().Usages());
        sb.Append("\nRun 'berth COMMAND --help' for more information on a command.\n");
        return sb.ToString();
    }
}
