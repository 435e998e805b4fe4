using Berth.Api.Client;
using Berth.Api.Types;
using Berth.Cli.Parsing;
using Berth.Compose;
using Berth.Compose.Engine;
using Berth.Compose.Loading;

namespace Berth.Cli.Commands.Compose;

/// <summary>The compose commands that change things: up, down, create, start, stop, restart, kill, pause, unpause, rm, build, pull, push, run, exec.</summary>
internal static class ComposeLifecycleCommands
{
    public static IEnumerable<(CommandSpec, Func<ComposeInvocation, Task<int>>)> All() =>
    [
        (new CommandSpec
        {
            Name = "up",
            Usage = "[OPTIONS] [SERVICE...]",
            Summary = "Create and start containers",
            DefineFlags = f => ConvergeFlags(f)
                .Bool("detach", 'd', "Detached mode: Run containers in the background")
                .Bool("wait", null, "Wait for services to be running|healthy. Implies detached mode.")
                .Int("wait-timeout", null, "Maximum duration in seconds to wait for the project to be running|healthy")
                .Bool("abort-on-container-exit", null, "Stops all containers if any container was stopped. Incompatible with -d")
                .String("exit-code-from", null, "Return the exit code of the selected service container. Implies --abort-on-container-exit")
                .Bool("no-deps", null, "Don't start linked services")
                .Bool("no-start", null, "Don't start the services after creating them")
                .Int("timeout", 't', "Use this timeout in seconds for container shutdown when attached or when containers are already running")
                .Bool("no-color", null, "Produce monochrome output")
                .Bool("no-log-prefix", null, "Don't print prefix in logs")
                .Bool("quiet-pull", null, "Pull without printing progress information")
                .Bool("renew-anon-volumes", 'V', "Recreate anonymous volumes instead of retrieving data from the previous containers")
                .String("pull", null, "Pull image before running (\"always\"|\"missing\"|\"never\")", "missing"),
        }, UpAsync),
        (new CommandSpec
        {
            Name = "create",
            Usage = "[OPTIONS] [SERVICE...]",
            Summary = "Creates containers for a service",
            DefineFlags = f => ConvergeFlags(f),
        }, CreateAsync),
        (new CommandSpec
        {
            Name = "down",
            Usage = "[OPTIONS] [SERVICES]",
            Summary = "Stop and remove containers, networks",
            DefineFlags = f => f
                .Bool("volumes", 'v', "Remove named volumes declared in the \"volumes\" section of the Compose file and anonymous volumes attached to containers")
                .String("rmi", null, "Remove images used by services. \"local\" remove only images that don't have a custom tag (\"local\"|\"all\")")
                .Bool("remove-orphans", null, "Remove containers for services not defined in the Compose file")
                .Int("timeout", 't', "Specify a shutdown timeout in seconds"),
        }, DownAsync),
        (Simple("start", "Start services"), i => EachAsync(i, all: true, reverse: false, c => i.Engine.Client.StartContainerAsync(c.Id, i.Context.Cancellation), "Starting", "Started", c => c.State != "running")),
        (Simple("stop", "Stop services", timeout: true), i => EachAsync(i, all: false, reverse: true, c => i.Engine.Client.StopContainerAsync(c.Id, Timeout(i), null, i.Context.Cancellation), "Stopping", "Stopped")),
        (Simple("restart", "Restart service containers", timeout: true), i => EachAsync(i, all: true, reverse: false, c => i.Engine.Client.RestartContainerAsync(c.Id, Timeout(i), null, i.Context.Cancellation), "Restarting", "Started")),
        (Simple("pause", "Pause services"), i => EachAsync(i, all: false, reverse: false, c => i.Engine.Client.PauseContainerAsync(c.Id, i.Context.Cancellation), "Pausing", "Paused", c => c.State == "running")),
        (Simple("unpause", "Unpause services"), i => EachAsync(i, all: false, reverse: false, c => i.Engine.Client.UnpauseContainerAsync(c.Id, i.Context.Cancellation), "Unpausing", "Unpaused", c => c.State == "paused")),
        (Simple("kill", "Force stop service containers") with
        {
            DefineFlags = f => f
                .String("signal", 's', "SIGNAL to send to the container", "SIGKILL")
                .Bool("remove-orphans", null, "Remove containers for services not defined in the Compose file"),
        }, i => EachAsync(i, all: false, reverse: false, c => i.Engine.Client.KillContainerAsync(c.Id, i.Args.String("signal"), i.Context.Cancellation), "Killing", "Killed", c => c.State is "running" or "paused")),
        (new CommandSpec
        {
            Name = "rm",
            Usage = "[OPTIONS] [SERVICE...]",
            Summary = "Removes stopped service containers",
            DefineFlags = f => f
                .Bool("force", 'f', "Don't ask to confirm removal")
                .Bool("stop", 's', "Stop the containers, if required, before removing")
                .Bool("volumes", 'v', "Remove any anonymous volumes attached to containers"),
        }, RmAsync),
        (new CommandSpec
        {
            Name = "build",
            Usage = "[OPTIONS] [SERVICE...]",
            Summary = "Build or rebuild services",
            DefineFlags = f => f
                .Bool("no-cache", null, "Do not use cache when building the image")
                .Bool("pull", null, "Always attempt to pull a newer version of the image")
                .Bool("quiet", 'q', "Don't print anything to STDOUT")
                .List("build-arg", null, "Set build-time variables for services"),
        }, BuildAsync),
        (new CommandSpec
        {
            Name = "pull",
            Usage = "[OPTIONS] [SERVICE...]",
            Summary = "Pull service images",
            DefineFlags = f => f
                .Bool("quiet", 'q', "Pull without printing progress information")
                .Bool("ignore-pull-failures", null, "Pull what it can and ignores images with pull failures")
                .Bool("ignore-buildable", null, "Ignore images that can be built"),
        }, PullAsync),
        (new CommandSpec
        {
            Name = "push",
            Usage = "[OPTIONS] [SERVICE...]",
            Summary = "Push service images",
            DefineFlags = f => f
                .Bool("quiet", 'q', "Push without printing progress information")
                .Bool("ignore-push-failures", null, "Push what it can and ignores images with push failures"),
        }, PushAsync),
        (new CommandSpec
        {
            Name = "run",
            Usage = "[OPTIONS] SERVICE [COMMAND] [ARGS...]",
            Summary = "Run a one-off command on a service",
            Interspersed = false,
            MinArgs = 1,
            DefineFlags = f => f
                .Bool("detach", 'd', "Run container in background and print container ID")
                .Bool("rm", null, "Automatically remove the container when it exits")
                .List("env", 'e', "Set environment variables")
                .List("label", 'l', "Add or override a label")
                .String("name", null, "Assign a name to the container")
                .Bool("no-TTY", 'T', "Disable pseudo-TTY allocation (default: auto-detected)")
                .Bool("no-deps", null, "Don't start linked services")
                .Bool("service-ports", null, "Run command with all service's ports enabled and mapped to the host")
                .String("entrypoint", null, "Override the entrypoint of the image")
                .String("user", 'u', "Run as specified username or uid")
                .String("workdir", 'w', "Working directory inside the container")
                .Bool("interactive", 'i', "Keep STDIN open even if not attached", defaultValue: true)
                .Bool("build", null, "Build image before starting container")
                .Bool("quiet-pull", null, "Pull without printing progress information"),
        }, RunAsync),
        (new CommandSpec
        {
            Name = "exec",
            Usage = "[OPTIONS] SERVICE COMMAND [ARGS...]",
            Summary = "Execute a command in a running container",
            Interspersed = false,
            MinArgs = 2,
            DefineFlags = f => f
                .Bool("detach", 'd', "Detached mode: Run command in the background")
                .List("env", 'e', "Set environment variables")
                .Int("index", null, "Index of the container if service has multiple replicas", 1)
                .Bool("no-TTY", 'T', "Disable pseudo-TTY allocation. By default `docker compose exec` allocates a TTY.")
                .Bool("privileged", null, "Give extended privileges to the process")
                .String("user", 'u', "Run the command as this user")
                .String("workdir", 'w', "Path to workdir directory for this command")
                .Bool("interactive", 'i', "Keep STDIN open even if not attached", defaultValue: true),
        }, ExecAsync),
    ];

    /// <summary>The flags up and create share: how images are made and when containers are recreated.</summary>
    private static FlagSet ConvergeFlags(FlagSet f) => f
        .Bool("build", null, "Build images before starting containers")
        .Bool("no-build", null, "Don't build an image, even if it's policy")
        .Bool("force-recreate", null, "Recreate containers even if their configuration and image haven't changed")
        .Bool("no-recreate", null, "If containers already exist, don't recreate them. Incompatible with --force-recreate.")
        .Bool("remove-orphans", null, "Remove containers for services not defined in the Compose file")
        .List("scale", null, "Scale SERVICE to NUM instances. Overrides the `scale` setting in the Compose file if present.", "scale");

    private static CommandSpec Simple(string name, string summary, bool timeout = false) => new()
    {
        Name = name,
        Usage = "[OPTIONS] [SERVICE...]",
        Summary = summary,
        DefineFlags = timeout ? f => f.Int("timeout", 't', "Specify a shutdown timeout in seconds") : null,
    };

    private static int? Timeout(ComposeInvocation i) => i.Args.Changed("timeout") ? (int)i.Args.Int("timeout") : null;

    private static Dictionary<string, int> Scale(ComposeInvocation i, ComposeProject project)
    {
        var scale = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (string entry in i.Args.List("scale"))
        {
            int eq = entry.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || !int.TryParse(entry[(eq + 1)..], System.Globalization.CultureInfo.InvariantCulture, out int n) || n < 0)
            {
                throw new StatusException(1, $"invalid scale: {entry} (expected SERVICE=NUM)");
            }

            string name = entry[..eq];
            if (project.Services.All(s => s.Name != name))
            {
                throw new StatusException(1, $"no such service: {name}");
            }

            scale[name] = n;
        }

        return scale;
    }

    private static async Task<int> UpAsync(ComposeInvocation i)
    {
        ParsedArgs a = i.Args;
        string? exitCodeFrom = a.String("exit-code-from");
        bool abort = a.Bool("abort-on-container-exit") || exitCodeFrom is not null;
        bool detach = a.Bool("detach") || a.Bool("wait");
        if (detach && abort)
        {
            throw new StatusException(1, "--abort-on-container-exit and --detach are incompatible");
        }

        if (a.Bool("force-recreate") && a.Bool("no-recreate"))
        {
            throw new StatusException(1, "--force-recreate and --no-recreate are incompatible");
        }

        ComposeProject project = i.Project(i.Positionals);
        IReadOnlyList<string> services = i.Services(project);
        var options = new UpOptions
        {
            Services = services,
            Build = a.Bool("build"),
            NoBuild = a.Bool("no-build"),
            ForceRecreate = a.Bool("force-recreate"),
            NoRecreate = a.Bool("no-recreate"),
            RemoveOrphans = a.Bool("remove-orphans") || i.Context.Environment("COMPOSE_REMOVE_ORPHANS") is "1" or "true",
            NoDeps = a.Bool("no-deps"),
            NoStart = a.Bool("no-start"),
            Wait = a.Bool("wait"),
            WaitTimeout = a.Changed("wait-timeout") ? TimeSpan.FromSeconds(a.Int("wait-timeout")) : TimeSpan.FromMinutes(5),
            Scale = Scale(i, project),
        };
        // Attached output starts with this run: a restarted container's earlier log is not replayed.
        DateTimeOffset since = i.Context.Now.AddSeconds(-1);
        await i.Engine.UpAsync(project, options, i.Context.Cancellation).ConfigureAwait(false);
        if (detach || options.NoStart)
        {
            return 0;
        }

        List<ComposeService> selected = ComposeEngine.Select(project, services, options.NoDeps);
        return await ComposeLogPrinter.AttachAsync(i, project, [.. selected.Select(s => s.Name)], abort, exitCodeFrom, Timeout(i), since).ConfigureAwait(false);
    }

    private static async Task<int> CreateAsync(ComposeInvocation i)
    {
        ComposeProject project = i.Project(i.Positionals);
        await i.Engine.UpAsync(project, new UpOptions
        {
            Services = i.Services(project),
            Build = i.Args.Bool("build"),
            NoBuild = i.Args.Bool("no-build"),
            ForceRecreate = i.Args.Bool("force-recreate"),
            NoRecreate = i.Args.Bool("no-recreate"),
            RemoveOrphans = i.Args.Bool("remove-orphans"),
            NoStart = true,
            Scale = Scale(i, project),
        }, i.Context.Cancellation).ConfigureAwait(false);
        return 0;
    }

    private static async Task<int> DownAsync(ComposeInvocation i)
    {
        (string name, ComposeProject? project) = i.ProjectOrName();
        string? rmi = i.Args.String("rmi");
        if (rmi is not null and not ("local" or "all"))
        {
            throw new StatusException(1, $"invalid value for --rmi: {rmi}");
        }

        await i.Engine.DownAsync(name, project, new DownOptions
        {
            Volumes = i.Args.Bool("volumes"),
            RemoveImages = rmi,
            RemoveOrphans = i.Args.Bool("remove-orphans"),
            Timeout = Timeout(i),
        }, i.Context.Cancellation).ConfigureAwait(false);
        return 0;
    }

    /// <summary>Runs one container action over the selected services' containers, per dependency level.</summary>
    private static async Task<int> EachAsync(ComposeInvocation i, bool all, bool reverse, Func<ContainerSummary, Task> action, string doing, string done, Func<ContainerSummary, bool>? applies = null)
    {
        (string name, ComposeProject? project) = i.ProjectOrName();
        IReadOnlyList<string> services = i.Services(project);
        var reporter = new CliReporter(i.Context);
        await i.Engine.ForEachContainerAsync(project, name, services, all, reverse, async c =>
        {
            if (applies is not null && !applies(c))
            {
                return;
            }

            string container = ComposeEngine.NameOf(c);
            reporter.Report("Container", container, doing);
            await action(c).ConfigureAwait(false);
            reporter.Report("Container", container, done);
        }, i.Context.Cancellation).ConfigureAwait(false);
        return 0;
    }

    private static async Task<int> RmAsync(ComposeInvocation i)
    {
        (string name, ComposeProject? project) = i.ProjectOrName();
        IReadOnlyList<string> services = i.Services(project);
        List<ContainerSummary> containers = await i.Engine.ContainersAsync(name, all: true, includeOneOff: false, services, i.Context.Cancellation).ConfigureAwait(false);
        bool stop = i.Args.Bool("stop");
        List<ContainerSummary> targets = [.. containers.Where(c => stop || c.State is not ("running" or "restarting" or "paused"))];
        if (targets.Count == 0)
        {
            await i.Context.Err.WriteLineAsync("No stopped containers").ConfigureAwait(false);
            return 0;
        }

        if (!i.Args.Bool("force"))
        {
            await i.Context.Err.WriteAsync($"Going to remove {string.Join(", ", targets.Select(ComposeEngine.NameOf))}\n? Are you sure? [yN] ").ConfigureAwait(false);
            using var reader = new StreamReader(i.Context.OpenStdin());
            string? answer = await reader.ReadLineAsync(i.Context.Cancellation).ConfigureAwait(false);
            if (answer?.Trim().ToLowerInvariant() is not ("y" or "yes"))
            {
                return 0;
            }
        }

        await Task.WhenAll(targets.Select(c => i.Engine.RemoveContainerAsync(c, stop, null, i.Args.Bool("volumes"), i.Context.Cancellation))).ConfigureAwait(false);
        return 0;
    }

    private static async Task<int> BuildAsync(ComposeInvocation i)
    {
        ComposeProject project = i.Project(i.Positionals);
        IReadOnlyList<string> names = i.Services(project);
        foreach (string arg in i.Args.List("build-arg"))
        {
            int eq = arg.IndexOf('=', StringComparison.Ordinal);
            foreach (ComposeService s in project.Services.Where(s => s.Build is not null))
            {
                if (s.Build!["args"] is not MapNode args)
                {
                    args = new MapNode(s.Build.Mark);
                    s.Build["args"] = args;
                }

                args[eq < 0 ? arg : arg[..eq]] = new ScalarNode(eq < 0 ? i.Context.Environment(arg) : arg[(eq + 1)..], s.Build.Mark, quoted: true);
            }
        }

        foreach (ComposeService service in project.Services.Where(s => s.Build is not null && (names.Count == 0 || names.Contains(s.Name))))
        {
            await i.Engine.BuildAsync(project, service, i.Args.Bool("no-cache"), i.Context.Cancellation).ConfigureAwait(false);
        }

        return 0;
    }

    private static async Task<int> PullAsync(ComposeInvocation i)
    {
        ComposeProject project = i.Project(i.Positionals);
        IReadOnlyList<string> names = i.Services(project);
        IEnumerable<ComposeService> services = project.Services.Where(s => s.Image is not null && (names.Count == 0 || names.Contains(s.Name)) && !(i.Args.Bool("ignore-buildable") && s.Build is not null));
        await Task.WhenAll(services.Select(async s =>
        {
            try
            {
                await i.Engine.PullAsync(s.Image!, i.Context.Cancellation).ConfigureAwait(false);
            }
            catch (ComposeException) when (i.Args.Bool("ignore-pull-failures") || s.Build is not null)
            {
            }
        })).ConfigureAwait(false);
        return 0;
    }

    private static async Task<int> PushAsync(ComposeInvocation i)
    {
        ComposeProject project = i.Project(i.Positionals);
        IReadOnlyList<string> names = i.Services(project);
        foreach (ComposeService s in project.Services.Where(s => s.Image is not null && s.Build is not null && (names.Count == 0 || names.Contains(s.Name))))
        {
            try
            {
                await i.Engine.PushAsync(s.Image!, i.Context.Cancellation).ConfigureAwait(false);
            }
            catch (ComposeException) when (i.Args.Bool("ignore-push-failures"))
            {
            }
        }

        return 0;
    }

    private static async Task<int> RunAsync(ComposeInvocation i)
    {
        CommandContext ctx = i.Context;
        ParsedArgs a = i.Args;
        string serviceName = i.Positionals[0];
        ComposeProject project = i.Project([serviceName]);
        ComposeService service = project.Service(serviceName);
        if (!a.Bool("no-deps") && service.DependsOn.Count > 0)
        {
            await i.Engine.UpAsync(project, new UpOptions { Services = [.. service.DependsOn.Select(d => d.Service)] }, ctx.Cancellation).ConfigureAwait(false);
        }

        await i.Engine.PrepareAsync(project, [service], a.Bool("build"), ctx.Cancellation).ConfigureAwait(false);
        bool detach = a.Bool("detach");
        bool tty = !a.Bool("no-TTY") && ctx.StdinIsTerminal && !detach;
        bool interactive = a.Bool("interactive") && !detach;
        string name = a.String("name") ?? $"{project.Name}-{service.Name}-run-{Guid.NewGuid().ToString("N")[..12]}";
        foreach (string label in a.List("label"))
        {
            if (service.Definition["labels"] is not MapNode labels)
            {
                labels = new MapNode(service.Definition.Mark);
                service.Definition["labels"] = labels;
            }

            int eq = label.IndexOf('=', StringComparison.Ordinal);
            labels[eq < 0 ? label : label[..eq]] = new ScalarNode(eq < 0 ? "" : label[(eq + 1)..], labels.Mark, quoted: true);
        }

        var plan = new ContainerPlan
        {
            Name = name,
            Number = 1,
            ConfigHash = ServiceSpec.ConfigHash(service),
            OneOff = true,
            PublishPorts = a.Bool("service-ports"),
            AutoRemove = a.Bool("rm"),
            Command = i.Positionals.Count > 1 ? [.. i.Positionals.Skip(1)] : null,
            Entrypoint = a.String("entrypoint") is { } entrypoint ? ShellWords.Split(entrypoint) : null,
            ExtraEnvironment = a.List("env"),
            User = a.String("user"),
            WorkingDir = a.String("workdir"),
            Tty = tty,
            Interactive = interactive,
        };
        string id = await i.Engine.CreateContainerAsync(project, service, plan, ctx.Cancellation).ConfigureAwait(false);
        if (detach)
        {
            await ctx.Client.StartContainerAsync(id, ctx.Cancellation).ConfigureAwait(false);
            await ctx.Out.WriteLineAsync(name).ConfigureAwait(false);
            return 0;
        }

        var session = new AttachSession(ctx, id, tty, interactive, stdout: true, stderr: true, detachKeys: null) { SignalProxy = true };
        return await session.RunAsync(plan.AutoRemove ? WaitCondition.Removed : WaitCondition.NextExit, ct => ctx.Client.StartContainerAsync(id, ct)).ConfigureAwait(false);
    }

    private static async Task<int> ExecAsync(ComposeInvocation i)
    {
        CommandContext ctx = i.Context;
        (string projectName, ComposeProject? project) = i.ProjectOrName();
        string service = i.Positionals[0];
        if (project is not null && project.Services.All(s => s.Name != service))
        {
            throw new StatusException(1, $"no such service: {service}");
        }

        int index = (int)i.Args.Int("index");
        List<ContainerSummary> containers = await i.Engine.ContainersAsync(projectName, all: false, includeOneOff: false, [service], ctx.Cancellation).ConfigureAwait(false);
        ContainerSummary container = containers.FirstOrDefault(c => ComposeEngine.NumberOf(c) == index)
            ?? throw new StatusException(1, containers.Count == 0 ? $"service \"{service}\" is not running" : $"service \"{service}\" is not running container #{index}");
        bool detach = i.Args.Bool("detach");
        bool tty = !i.Args.Bool("no-TTY") && ctx.StdinIsTerminal && !detach;
        bool interactive = i.Args.Bool("interactive") && !detach;
        var request = new ExecCreateRequest
        {
            AttachStdin = interactive,
            AttachStdout = !detach,
            AttachStderr = !detach,
            Tty = tty,
            Env = i.Args.List("env").Count > 0 ? [.. i.Args.List("env")] : null,
            Cmd = [.. i.Positionals.Skip(1)],
            Privileged = i.Args.Bool("privileged"),
            User = i.Args.String("user"),
            WorkingDir = i.Args.String("workdir"),
        };
        return await ExecCommand.ExecAsync(ctx, container.Id, request, detach, interactive, tty).ConfigureAwait(false);
    }
}
