using System.Globalization;
using Berth.Api.Types;
using Berth.Build;
using Berth.Images;
using Berth.Interop;
using Berth.Primitives;
using Berth.Storage.Filesystem;

namespace Berth.Engine.Build;

/// <summary>One build: the stages of one Dockerfile evaluated in order, step by step.</summary>
internal sealed partial class BuildRun(BuildService service, BuildRequest request, DockerfileDocument document, string contextRoot, BuildService.Progress progress)
{
    /// <summary>One FROM and the instructions up to the next.</summary>
    private sealed record Stage(int Index, string? Name, Instruction From, List<Instruction> Body);

    /// <summary>Where a stage is while it is built.</summary>
    private sealed class StageState
    {
        public ImageRecord? Image { get; set; }
        public ImageRuntimeConfig Config { get; set; } = new();
        public string? Author { get; set; }
        public Dictionary<string, string> Args { get; } = new(StringComparer.Ordinal);
        public bool CmdSet { get; set; }

        /// <summary>The stage's place in the build output (0 is the global ARGs).</summary>
        public int Slot { get; init; }

        /// <summary>The number of the stage's last step printed.</summary>
        public int Step { get; set; }
    }

    private readonly Dictionary<string, string> _globalArgs = new(StringComparer.Ordinal);

    /// <summary>The SHA-256 of each context file, by path, computed while the context was received.</summary>
    public IReadOnlyDictionary<string, byte[]>? ContextHashes { get; init; }

    /// <summary>Each stage's image once built, awaited by the stages that build FROM it, COPY --from it or mount from it.</summary>
    private readonly Dictionary<int, TaskCompletionSource<ImageRecord?>> _stageResults = [];
    private OrderedProgress _output = null!;
    private int _totalSteps;
    private int _stepsRun;
    private int _stepsCached;

    public int StepsRun => _stepsRun;

    public int StepsCached => _stepsCached;

    /// <summary>
    /// The <c>SOURCE_DATE_EPOCH</c> build arg (seconds since 1970), as BuildKit takes it: every image of the build is
    /// created then, and its layers' times are clamped to it, so the same Dockerfile and context give the same digest.
    /// </summary>
    private readonly DateTimeOffset? _sourceDateEpoch = request.BuildArgs.TryGetValue("SOURCE_DATE_EPOCH", out string? epoch) && !string.IsNullOrEmpty(epoch)
        ? long.TryParse(epoch, NumberStyles.None, CultureInfo.InvariantCulture, out long seconds) && seconds <= 253402300799
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : throw new DockerfileException($"invalid SOURCE_DATE_EPOCH: {epoch} (seconds since 1970-01-01 UTC)")
        : null;

    /// <summary>When a step's image is created: the source date epoch, else now.</summary>
    private DateTimeOffset Created => _sourceDateEpoch ?? DateTimeOffset.UtcNow;

    private static readonly IReadOnlySet<string> PredefinedArgs = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy",
    };

    public async Task<string> ExecuteAsync(CancellationToken cancellationToken)
    {
        var globalArgs = new List<Instruction>();
        var stages = new List<Stage>();
        foreach (Instruction instruction in document.Instructions)
        {
            if (instruction.Keyword == "FROM")
            {
                IReadOnlyList<string> words = ShellWords.SplitRaw(instruction.Arguments, document.EscapeToken);
                string? name = words.Count == 3 && words[1].Equals("AS", StringComparison.OrdinalIgnoreCase) ? words[2].ToLowerInvariant()
                    : words.Count == 1 ? null
                    : throw DockerfileException.AtLine(instruction.Line, "FROM requires either one or three arguments");
                stages.Add(new Stage(stages.Count, name, instruction, []));
            }
            else if (stages.Count == 0)
            {
                if (instruction.Keyword != "ARG")
                {
                    throw DockerfileException.AtLine(instruction.Line, "no build stage in current context");
                }

                globalArgs.Add(instruction);
            }
            else
            {
                stages[^1].Body.Add(instruction);
            }
        }

        if (stages.Count == 0)
        {
            throw new DockerfileException("the Dockerfile (Dockerfile) cannot be empty");
        }

        foreach (Instruction arg in globalArgs)
        {
            foreach (KeyValuePair<string, string?> pair in ShellWords.Pairs(arg.Arguments, n => _globalArgs.GetValueOrDefault(n), document.EscapeToken, legacyAllowed: false, valueOptional: true))
            {
                string? value = request.BuildArgs.TryGetValue(pair.Key, out string? given) && given is not null ? given : pair.Value;
                if (value is not null)
                {
                    _globalArgs[pair.Key] = value;
                }
            }
        }

        Stage target = stages[^1];
        if (!string.IsNullOrEmpty(request.Target))
        {
            target = stages.FirstOrDefault(s => string.Equals(s.Name, request.Target, StringComparison.OrdinalIgnoreCase))
                ?? throw EngineException.Invalid($"failed to reach build target {request.Target} in Dockerfile");
        }

        HashSet<int> needed = [];
        Need(target, stages, needed);
        List<Stage> toBuild = [.. stages.Where(s => needed.Contains(s.Index))];
        _totalSteps = globalArgs.Count + toBuild.Sum(s => 1 + s.Body.Count);
        using var output = new OrderedProgress(progress, toBuild.Count + 1);
        _output = output;
        int step = 0;
        foreach (Instruction arg in globalArgs)
        {
            await _output.WriteAsync(0, $"Step {++step}/{_totalSteps} : {arg.Original}\n").ConfigureAwait(false);
        }

        await _output.CompleteAsync(0).ConfigureAwait(false);
        foreach (Stage stage in toBuild)
        {
            _stageResults[stage.Index] = new TaskCompletionSource<ImageRecord?>(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        // Independent stages build at the same time, as many as there are cores; their output still reads in
        // Dockerfile order (a stage's lines wait until the stages before it have printed theirs).
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var slots = new SemaphoreSlim(Math.Max(1, Environment.ProcessorCount));
        Exception? firstFailure = null;
        var runners = new List<Task>();
        for (int slot = 0; slot < toBuild.Count; slot++)
        {
            Stage stage = toBuild[slot];
            var state = new StageState { Slot = slot + 1, Step = step };
            step += 1 + stage.Body.Count;
            runners.Add(Task.Run(async () =>
            {
                try
                {
                    foreach (int dependency in Dependencies(stage, stages))
                    {
                        await _stageResults[dependency].Task.WaitAsync(failed.Token).ConfigureAwait(false);
                    }

                    await slots.WaitAsync(failed.Token).ConfigureAwait(false);
                    try
                    {
                        _stageResults[stage.Index].TrySetResult(await BuildStageAsync(stage, state, stages, stage == target, failed.Token).ConfigureAwait(false));
                    }
                    finally
                    {
                        slots.Release();
                    }

                    await _output.CompleteAsync(state.Slot).ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref firstFailure, e, null);
                    _stageResults[stage.Index].TrySetException(e);
                    await failed.CancelAsync().ConfigureAwait(false);
                    throw;
                }
            }, CancellationToken.None));
        }

        try
        {
            await Task.WhenAll(runners).ConfigureAwait(false);
        }
        catch (Exception) when (firstFailure is not null)
        {
            // What the stages printed before the failure, then the failure itself.
            await _output.FlushAllAsync().ConfigureAwait(false);
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(firstFailure);
        }

        ImageRecord? result = await _stageResults[target.Index].Task.ConfigureAwait(false);
        return result?.Id ?? throw EngineException.Invalid("No image was generated. Is your Dockerfile empty?");
    }

    /// <summary>The stages <paramref name="stage"/> needs (its FROM, COPY --from and RUN --mount from), so unused stages are skipped.</summary>
    private void Need(Stage stage, List<Stage> stages, HashSet<int> needed)
    {
        if (!needed.Add(stage.Index))
        {
            return;
        }

        foreach (int dependency in Dependencies(stage, stages))
        {
            Need(stages[dependency], stages, needed);
        }
    }

    /// <summary>The earlier stages this stage reads from.</summary>
    private HashSet<int> Dependencies(Stage stage, List<Stage> stages)
    {
        IEnumerable<string> references = [ShellWords.Word(ShellWords.SplitRaw(stage.From.Arguments, document.EscapeToken)[0], n => _globalArgs.GetValueOrDefault(n), document.EscapeToken),
            .. stage.Body.Where(i => i.Keyword == "COPY" && i.Flag("from") is not null).Select(i => i.Flag("from")!),
            .. stage.Body.Where(i => i.Keyword == "RUN").SelectMany(i => i.Flags).Select(f => MountFromPattern().Match(f)).Where(m => m.Success).Select(m => m.Groups[1].Value)];
        HashSet<int> dependencies = [];
        foreach (string reference in references)
        {
            if (FindStage(reference, stages, stage.Index) is { } dependency)
            {
                dependencies.Add(dependency.Index);
            }
        }

        return dependencies;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^mount=.*(?:^|[=,])from=([^,]+)", System.Text.RegularExpressions.RegexOptions.IgnoreCase)]
    private static partial System.Text.RegularExpressions.Regex MountFromPattern();

    private static Stage? FindStage(string reference, List<Stage> stages, int before) =>
        int.TryParse(reference, NumberStyles.None, CultureInfo.InvariantCulture, out int index) && index < before
            ? stages[index]
            : stages.Take(before).FirstOrDefault(s => string.Equals(s.Name, reference, StringComparison.OrdinalIgnoreCase));

    /// <summary>A stage's image; the stage was awaited before this one started, so this does not wait in practice.</summary>
    private Task<ImageRecord?> StageResultAsync(Stage stage, CancellationToken cancellationToken) =>
        _stageResults.TryGetValue(stage.Index, out TaskCompletionSource<ImageRecord?>? result)
            ? result.Task.WaitAsync(cancellationToken)
            : throw new DockerfileException($"stage {stage.Name ?? stage.Index.ToString(CultureInfo.InvariantCulture)} is not built");

    private Task WriteAsync(StageState state, string text) => _output.WriteAsync(state.Slot, text);

    private Task StepHeaderAsync(StageState state, Instruction instruction) =>
        WriteAsync(state, $"Step {++state.Step}/{_totalSteps} : {instruction.Original}\n");

    private async Task<ImageRecord?> BuildStageAsync(Stage stage, StageState state, List<Stage> stages, bool isTarget, CancellationToken cancellationToken)
    {
        await StepHeaderAsync(state, stage.From).ConfigureAwait(false);
        string baseName = ShellWords.Word(ShellWords.SplitRaw(stage.From.Arguments, document.EscapeToken)[0], n => _globalArgs.GetValueOrDefault(n), document.EscapeToken);
        if (FindStage(baseName, stages, stage.Index) is { } parentStage)
        {
            state.Image = await StageResultAsync(parentStage, cancellationToken).ConfigureAwait(false);
        }
        else if (!baseName.Equals("scratch", StringComparison.OrdinalIgnoreCase))
        {
            if (request.Pull)
            {
                await WriteAsync(state, $"--pull: Berth's builder works offline and does not pull {baseName}; using the local image\n").ConfigureAwait(false);
            }

            string notFound = $"pull access denied for {baseName}, repository does not exist or may require 'docker login' (Berth builds offline: load or bootstrap the image first)";
            state.Image = PinExisting((service.Images.Find(baseName) ?? throw EngineException.NotFound(notFound)).Record.Id) ?? throw EngineException.NotFound(notFound);
        }

        state.Config = (state.Image?.Config.Config ?? new ImageRuntimeConfig()) with { OnBuild = null };
        await WriteAsync(state, state.Image is null ? " ---> \n" : $" ---> {BuildService.Short(state.Image.Id)}\n").ConfigureAwait(false);

        // The base image's ONBUILD triggers run first, as if written right after FROM.
        IReadOnlyList<string> triggers = state.Image?.Config.Config.OnBuild ?? [];
        if (triggers.Count > 0)
        {
            await WriteAsync(state, $"# Executing {triggers.Count} build trigger{(triggers.Count == 1 ? "" : "s")}\n").ConfigureAwait(false);
            foreach (string trigger in triggers)
            {
                Instruction parsed = DockerfileParser.Parse(trigger).Instructions.Single() with { Line = stage.From.Line };
                await ExecuteAsync(parsed, state, stages, stage, cancellationToken).ConfigureAwait(false);
            }
        }

        foreach (Instruction instruction in stage.Body)
        {
            long started = System.Diagnostics.Stopwatch.GetTimestamp();
            await StepHeaderAsync(state, instruction).ConfigureAwait(false);
            await ExecuteAsync(instruction, state, stages, stage, cancellationToken).ConfigureAwait(false);
            service.LogStep(instruction.Keyword, instruction.Line, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        if (isTarget && request.Labels.Count > 0)
        {
            var labels = new Dictionary<string, string>(state.Config.Labels ?? [], StringComparer.Ordinal);
            foreach (KeyValuePair<string, string> label in request.Labels)
            {
                labels[label.Key] = label.Value;
            }

            await ConfigStepAsync(state, state.Config with { Labels = labels }, "LABEL " + string.Join(' ', request.Labels.Select(l => $"{l.Key}={l.Value}")), cancellationToken).ConfigureAwait(false);
        }

        if (state.Image is null)
        {
            // FROM scratch with nothing else: an image with no layers, as Docker makes it.
            await ConfigStepAsync(state, state.Config, "FROM scratch", cancellationToken).ConfigureAwait(false);
        }

        return state.Image;
    }

    private string? Lookup(StageState state, string name)
    {
        foreach (string entry in state.Config.Env ?? [])
        {
            if (entry.Length > name.Length && entry[name.Length] == '=' && entry.StartsWith(name, StringComparison.Ordinal))
            {
                return entry[(name.Length + 1)..];
            }
        }

        return state.Args.GetValueOrDefault(name);
    }

    private async Task ExecuteAsync(Instruction instruction, StageState state, List<Stage> stages, Stage stage, CancellationToken cancellationToken)
    {
        try
        {
            await ExecuteCoreAsync(instruction, state, stages, stage, cancellationToken).ConfigureAwait(false);
        }
        catch (DockerfileException e) when (!e.Message.StartsWith("Dockerfile:", StringComparison.Ordinal) && !e.Message.StartsWith("The command", StringComparison.Ordinal))
        {
            throw DockerfileException.AtLine(instruction.Line, e.Message);
        }
    }

    /// <summary>
    /// The build args in scope (declared in this stage and given a value): they key the cache, as Docker's do. A source
    /// date epoch keys every step, declared or not: a step made at another time (or now) is another image.
    /// </summary>
    private IEnumerable<KeyValuePair<string, string>> ArgsInScope(StageState state) =>
        _sourceDateEpoch is { } epoch && !state.Args.ContainsKey("SOURCE_DATE_EPOCH")
            ? [.. state.Args.Where(a => !PredefinedArgs.Contains(a.Key)), new("SOURCE_DATE_EPOCH", epoch.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture))]
            : state.Args.Where(a => !PredefinedArgs.Contains(a.Key));

    /// <summary>A config-only step: an empty-layer history entry, or the cached image of an identical step.</summary>
    private async Task ConfigStepAsync(StageState state, ImageRuntimeConfig next, string description, CancellationToken cancellationToken)
    {
        string createdBy = "/bin/sh -c #(nop)  " + description;
        string key = BuildCache.Key(state.Image?.Id, createdBy + "\nauthor=" + state.Author, ArgsInScope(state), null);
        if (await TryCachedAsync(state, key, createdBy, next, emptyLayer: true, cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        ImageRecord? parent = state.Image;
        ImageRecord image = await ComposePinnedAsync(() => ImageComposer.ComposeAsync(service.Images, parent, null, next, new OciHistory { CreatedBy = createdBy }, state.Author, [], Created, cancellationToken)).ConfigureAwait(false);
        await FinishStepAsync(state, key, image, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The step's image from the build cache (or, failing that, from a <c>--cache-from</c> image), when there is one:
    /// the stage moves on to it and the step does no work.
    /// </summary>
    private async Task<bool> TryCachedAsync(StageState state, string key, string createdBy, ImageRuntimeConfig next, bool emptyLayer, CancellationToken cancellationToken)
    {
        if (request.NoCache)
        {
            return false;
        }

        // Pinned at once: an image removed by a concurrent rmi or prune before this is a miss, one removed after cannot be.
        ImageRecord? cached = service.Cache.Lookup(key) is { } cachedId ? PinExisting(cachedId) : null;
        if (cached is null && request.CacheFrom.Count > 0)
        {
            cached = await FromCacheSourcesAsync(state.Image, createdBy, next, state.Author, emptyLayer, cancellationToken).ConfigureAwait(false) is { } composed ? PinExisting(composed.Id) : null;
            if (cached is not null)
            {
                await service.Cache.StoreAsync(key, cached.Id, cancellationToken).ConfigureAwait(false);
            }
        }

        if (cached is null)
        {
            return false;
        }

        state.Image = cached;
        state.Config = cached.Config.Config;
        Interlocked.Increment(ref _stepsCached);
        await WriteAsync(state, $" ---> Using cache\n ---> {BuildService.Short(cached.Id)}\n").ConfigureAwait(false);
        return true;
    }

    private async Task FinishStepAsync(StageState state, string key, ImageRecord image, CancellationToken cancellationToken)
    {
        await service.Cache.StoreAsync(key, image.Id, cancellationToken).ConfigureAwait(false);
        state.Image = image;
        state.Config = image.Config.Config;
        Interlocked.Increment(ref _stepsRun);
        await WriteAsync(state, $" ---> {BuildService.Short(image.Id)}\n").ConfigureAwait(false);
    }

    /// <summary>The stage's image filesystem, for checks (is the destination a directory?): each layer directory, top first.</summary>
    private IReadOnlyList<string> LayerDirectories(StageState state) =>
        state.Image is null ? [] : [.. service.Images.LowerChain(state.Image).Select(service.Images.Snapshots.LayerDirectory)];

    private static bool IsDirectoryInImage(IReadOnlyList<string> layers, string path)
    {
        string relative = path.TrimStart('/');
        foreach (string layer in layers)
        {
            string candidate = Path.Combine(layer, relative);
            if (FileStatus.TryRead(candidate) is { } status)
            {
                return status.Type == FileStatus.S_IFDIR;
            }
        }

        return false;
    }

    /// <summary>The mode and owner an image directory has, so a layer that passes through it does not change it.</summary>
    private static FileStatus? ImageDirectory(IReadOnlyList<string> layers, string relative)
    {
        foreach (string layer in layers)
        {
            if (FileStatus.TryRead(Path.Combine(layer, relative)) is { Type: FileStatus.S_IFDIR } status)
            {
                return status;
            }
        }

        return null;
    }

    internal static string ResolveInside(string root, string path) => ScopedPath.Resolve(root, path, followFinal: false);
}
