using System.Globalization;
using Berth.Api.Types;
using Berth.Build;
using Berth.Images;

namespace Berth.Engine.Build;

/// <summary>What each Dockerfile instruction does to the stage: RUN and COPY/ADD hand over to their steps, the rest change the config.</summary>
internal sealed partial class BuildRun
{
    private async Task ExecuteCoreAsync(Instruction instruction, StageState state, List<Stage> stages, Stage stage, CancellationToken cancellationToken)
    {
        char escape = document.EscapeToken;
        Func<string, string?> lookup = name => Lookup(state, name);
        ImageRuntimeConfig config = state.Config;
        string args = instruction.Arguments;
        switch (instruction.Keyword)
        {
            case "RUN":
                await RunStepAsync(instruction, state, stages, stage, cancellationToken).ConfigureAwait(false);
                return;
            case "COPY" or "ADD":
                await CopyStepAsync(instruction, state, stages, stage, cancellationToken).ConfigureAwait(false);
                return;
            case "ENV":
                {
                    var env = new List<string>(config.Env ?? []);
                    foreach (KeyValuePair<string, string?> pair in ShellWords.Pairs(args, lookup, escape, legacyAllowed: true, valueOptional: false))
                    {
                        env.RemoveAll(e => e.StartsWith(pair.Key + "=", StringComparison.Ordinal));
                        env.Add(pair.Key + "=" + pair.Value);
                        // Later pairs of the same ENV see earlier ones.
                        state.Config = state.Config with { Env = env.ToList() };
                    }

                    await ConfigStepAsync(state, config with { Env = env }, "ENV " + string.Join(' ', env.Except(config.Env ?? [])), cancellationToken).ConfigureAwait(false);
                    return;
                }

            case "ARG":
                foreach (KeyValuePair<string, string?> pair in ShellWords.Pairs(args, lookup, escape, legacyAllowed: false, valueOptional: true))
                {
                    string? value = request.BuildArgs.TryGetValue(pair.Key, out string? given) && given is not null ? given
                        : pair.Value ?? _globalArgs.GetValueOrDefault(pair.Key);
                    if (value is not null)
                    {
                        state.Args[pair.Key] = value;
                    }
                }

                await ConfigStepAsync(state, config, "ARG " + args, cancellationToken).ConfigureAwait(false);
                return;
            case "LABEL":
                {
                    var labels = new Dictionary<string, string>(config.Labels ?? [], StringComparer.Ordinal);
                    foreach (KeyValuePair<string, string?> pair in ShellWords.Pairs(args, lookup, escape, legacyAllowed: true, valueOptional: false))
                    {
                        labels[pair.Key] = pair.Value ?? "";
                    }

                    await ConfigStepAsync(state, config with { Labels = labels }, "LABEL " + args, cancellationToken).ConfigureAwait(false);
                    return;
                }

            case "MAINTAINER":
                state.Author = ShellWords.Word(args, lookup, escape);
                await ConfigStepAsync(state, config, "MAINTAINER " + state.Author, cancellationToken).ConfigureAwait(false);
                return;
            case "WORKDIR":
                {
                    string dir = ShellWords.Word(args, lookup, escape);
                    string workdir = dir.StartsWith('/') ? dir : Path.Combine(config.WorkingDir is { Length: > 0 } w ? w : "/", dir);
                    await ConfigStepAsync(state, config with { WorkingDir = workdir }, "WORKDIR " + workdir, cancellationToken).ConfigureAwait(false);
                    return;
                }

            case "USER":
                {
                    string user = ShellWords.Word(args, lookup, escape);
                    await ConfigStepAsync(state, config with { User = user }, "USER " + user, cancellationToken).ConfigureAwait(false);
                    return;
                }

            case "STOPSIGNAL":
                {
                    string signal = ShellWords.Word(args, lookup, escape);
                    await ConfigStepAsync(state, config with { StopSignal = signal }, "STOPSIGNAL " + signal, cancellationToken).ConfigureAwait(false);
                    return;
                }

            case "EXPOSE":
                {
                    var ports = new Dictionary<string, Dictionary<string, string>>(config.ExposedPorts ?? [], StringComparer.Ordinal);
                    var added = new List<string>();
                    foreach (string word in ShellWords.Split(args, lookup, escape))
                    {
                        string port = word.Contains('/', StringComparison.Ordinal) ? word.ToLowerInvariant() : word + "/tcp";
                        if (!int.TryParse(port.Split('/')[0].Split('-')[0], NumberStyles.None, CultureInfo.InvariantCulture, out _))
                        {
                            throw new DockerfileException($"invalid containerPort: {word}");
                        }

                        ports[port] = [];
                        added.Add(port);
                    }

                    await ConfigStepAsync(state, config with { ExposedPorts = ports }, "EXPOSE " + string.Join(' ', added), cancellationToken).ConfigureAwait(false);
                    return;
                }

            case "VOLUME":
                {
                    var volumes = new Dictionary<string, Dictionary<string, string>>(config.Volumes ?? [], StringComparer.Ordinal);
                    IReadOnlyList<string> paths = instruction.Json is { } json ? [.. json.Select(j => ShellWords.SubstituteOnly(j, lookup, escape))] : ShellWords.Split(args, lookup, escape);
                    foreach (string path in paths)
                    {
                        volumes[path] = [];
                    }

                    await ConfigStepAsync(state, config with { Volumes = volumes }, "VOLUME [" + string.Join(' ', paths) + "]", cancellationToken).ConfigureAwait(false);
                    return;
                }

            case "CMD":
                {
                    IReadOnlyList<string> command = instruction.Json ?? [.. config.Shell ?? BuildServiceShell, args];
                    state.CmdSet = true;
                    await ConfigStepAsync(state, config with { Cmd = command }, "CMD [" + string.Join(' ', command.Select(c => "\"" + c + "\"")) + "]", cancellationToken).ConfigureAwait(false);
                    return;
                }

            case "ENTRYPOINT":
                {
                    IReadOnlyList<string> entrypoint = instruction.Json ?? [.. config.Shell ?? BuildServiceShell, args];
                    // An ENTRYPOINT resets the CMD inherited from the base image (not one set in this stage).
                    ImageRuntimeConfig next = config with { Entrypoint = entrypoint, Cmd = state.CmdSet ? config.Cmd : null };
                    await ConfigStepAsync(state, next, "ENTRYPOINT [" + string.Join(' ', entrypoint.Select(c => "\"" + c + "\"")) + "]", cancellationToken).ConfigureAwait(false);
                    return;
                }

            case "SHELL":
                {
                    IReadOnlyList<string> shell = instruction.Json ?? throw new DockerfileException("SHELL requires the arguments to be in JSON form");
                    await ConfigStepAsync(state, config with { Shell = shell }, "SHELL [" + string.Join(' ', shell.Select(c => "\"" + c + "\"")) + "]", cancellationToken).ConfigureAwait(false);
                    return;
                }

            case "HEALTHCHECK":
                await ConfigStepAsync(state, config with { Healthcheck = ParseHealthcheck(instruction, config) }, "HEALTHCHECK " + args, cancellationToken).ConfigureAwait(false);
                return;
            case "ONBUILD":
                {
                    string trigger = args.Trim();
                    string keyword = trigger.Split(' ', 2)[0].ToUpperInvariant();
                    if (keyword is "ONBUILD" or "FROM" or "MAINTAINER")
                    {
                        throw new DockerfileException($"{keyword} isn't allowed as an ONBUILD trigger");
                    }

                    await ConfigStepAsync(state, config with { OnBuild = [.. config.OnBuild ?? [], trigger] }, "ONBUILD " + trigger, cancellationToken).ConfigureAwait(false);
                    return;
                }

            default:
                throw new DockerfileException($"unknown instruction: {instruction.Keyword}");
        }
    }

    private static readonly IReadOnlyList<string> BuildServiceShell = ["/bin/sh", "-c"];

    private ImageHealthConfig ParseHealthcheck(Instruction instruction, ImageRuntimeConfig config)
    {
        string args = instruction.Arguments.Trim();
        if (args.Equals("NONE", StringComparison.OrdinalIgnoreCase))
        {
            return new ImageHealthConfig { Test = ["NONE"] };
        }

        string[] parts = args.Split((char[]?)null, 2, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 2 || !parts[0].Equals("CMD", StringComparison.OrdinalIgnoreCase))
        {
            throw new DockerfileException("Unknown type \"" + parts[0] + "\" in HEALTHCHECK (try CMD)");
        }

        IReadOnlyList<string> test = DockerfileParser.TryParseJsonArray(parts[1]) is { } json ? ["CMD", .. json] : ["CMD-SHELL", parts[1]];
        _ = config;
        return new ImageHealthConfig
        {
            Test = test,
            Interval = Duration(instruction.Flag("interval")),
            Timeout = Duration(instruction.Flag("timeout")),
            StartPeriod = Duration(instruction.Flag("start-period")),
            StartInterval = Duration(instruction.Flag("start-interval")),
            Retries = instruction.Flag("retries") is { } retries ? int.Parse(retries, CultureInfo.InvariantCulture) : 0,
        };
    }

    /// <summary>A Go duration ("30s", "1m30s", "500ms") in nanoseconds; 0 when absent.</summary>
    internal static long Duration(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return 0;
        }

        long total = 0;
        int i = 0;
        while (i < text.Length)
        {
            int start = i;
            while (i < text.Length && (char.IsAsciiDigit(text[i]) || text[i] == '.'))
            {
                i++;
            }

            int unitStart = i;
            while (i < text.Length && char.IsAsciiLetter(text[i]))
            {
                i++;
            }

            if (start == unitStart || !double.TryParse(text[start..unitStart], NumberStyles.Float, CultureInfo.InvariantCulture, out double value))
            {
                throw new DockerfileException($"time: invalid duration \"{text}\"");
            }

            long unit = text[unitStart..i] switch
            {
                "ns" => 1L,
                "us" or "µs" => 1_000L,
                "ms" => 1_000_000L,
                "s" => 1_000_000_000L,
                "m" => 60_000_000_000L,
                "h" => 3_600_000_000_000L,
                _ => throw new DockerfileException($"time: missing unit in duration \"{text}\""),
            };
            total += (long)(value * unit);
        }

        return total;
    }
}
