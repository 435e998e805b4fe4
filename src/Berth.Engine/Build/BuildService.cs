using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Berth.Api.Types;
using Berth.Build;
using Berth.Engine.Containers;
using Berth.Images;
using Berth.Interop;
using Berth.Primitives;
using Berth.Storage.Filesystem;
using Microsoft.Extensions.Logging;

namespace Berth.Engine.Build;

/// <summary>
/// The Dockerfile builder, in the manner of Docker's classic builder: each instruction is one step that makes one
/// image from the previous one (RUN by running a real container and committing its changes, COPY/ADD by writing the
/// sources as a layer, everything else as a config-only history entry), each step looked up in the build cache first.
/// </summary>
public sealed partial class BuildService(ImageStore images, ContainerService containers, BuildCache cache, EngineOptions options, ILogger<BuildService> logger) : IBuildBackend
{
    private readonly CacheMountStore _cacheMounts = new(Path.Combine(options.DataRoot, "builder", "cache-mounts"));
    private readonly ContextFileCache _contextFiles = new(Path.Combine(options.DataRoot, "builder", "context-files"), ContextFileBudget);

    /// <summary>The most bytes of recent contexts' big files kept for the next build (<see cref="ContextFileCache"/>).</summary>
    private const long ContextFileBudget = 1L << 30;

    public async Task<string?> BuildAsync(BuildRequest request, Stream context, Func<ProgressMessage, Task> emit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(emit);
        string workspace = Path.Combine(options.DataRoot, "builder", "ctx-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(workspace);
        var progress = new Progress(emit, request.Quiet);
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            // The context's files are hashed while they arrive, so COPY's checksums never read them again (the
            // context is private to this build and nothing writes to it: a hash stays true for the whole build).
            // Big files a recent build had are compared with the kept copy instead (owners are root's, as the kept
            // copies' are, so a linked copy is only ever given the owner, mode and time it has).
            var contextHashes = new Dictionary<string, byte[]>(StringComparer.Ordinal);
            ContextFileCache.Receiver receiver = _contextFiles.Receive();
            await LayerApplier.ApplyAsync(context, workspace, new LayerApplier.Extraction("/", Whiteouts: false, KeepOwnership: false, NoOverwriteDirNonDir: false) { FileHashes = contextHashes, FileWriter = receiver }, cancellationToken).ConfigureAwait(false);
            receiver.Keep(contextHashes);
            LogContextReceived(contextHashes.Count, receiver.Reused, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            var references = new List<ImageReference>();
            foreach (string tag in request.Tags)
            {
                references.Add(ImageReference.TryParse(tag, out ImageReference? parsed) && parsed.Digest is null
                    ? parsed
                    : throw EngineException.Invalid($"invalid reference format: repository name ({tag}) must be lowercase"));
            }

            string dockerfilePath = ScopedPath.Resolve(workspace, request.Dockerfile);
            if (!File.Exists(dockerfilePath))
            {
                throw EngineException.Invalid($"Cannot locate specified Dockerfile: {request.Dockerfile}");
            }

            DockerfileDocument document = DockerfileParser.Parse(await File.ReadAllTextAsync(dockerfilePath, cancellationToken).ConfigureAwait(false));
            using var run = new BuildRun(this, request, document, workspace, progress) { ContextHashes = contextHashes };
            string id = await run.ExecuteAsync(cancellationToken).ConfigureAwait(false);
            foreach (ImageReference reference in references)
            {
                await images.TagAsync(reference, id, cancellationToken).ConfigureAwait(false);
            }

            if (request.Quiet)
            {
                await emit(new ProgressMessage { Stream = id + "\n" }).ConfigureAwait(false);
            }
            else
            {
                await emit(new ProgressMessage { Aux = new Dictionary<string, string> { ["ID"] = id } }).ConfigureAwait(false);
                await emit(new ProgressMessage { Stream = $"Successfully built {Short(id)}\n" }).ConfigureAwait(false);
                foreach (ImageReference reference in references)
                {
                    await emit(new ProgressMessage { Stream = $"Successfully tagged {reference.FamiliarName}:{reference.Tag ?? "latest"}\n" }).ConfigureAwait(false);
                }
            }

            LogBuilt(id, run.StepsRun, run.StepsCached, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return id;
        }
        catch (Exception e) when (e is DockerfileException or EngineException or IOException or InvalidDataException or UnauthorizedAccessException)
        {
            LogFailed(e.Message);
            await emit(new ProgressMessage { Error = e.Message, ErrorDetail = new ErrorResponse { Message = e.Message } }).ConfigureAwait(false);
            return null;
        }
        finally
        {
            try
            {
                Directory.Delete(workspace, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    internal static string Short(string id) => id.StartsWith("sha256:", StringComparison.Ordinal) ? id[7..19] : id[..Math.Min(12, id.Length)];

    [LoggerMessage(EventId = 800, Level = LogLevel.Information, Message = "built image {Id}: {Run} steps run, {Cached} cached, {Milliseconds:F1} ms from the first context byte")]
    private partial void LogBuilt(string id, int run, int cached, double milliseconds);

    /// <summary>Where a build's time goes first: receiving, unpacking and hashing the context (the whole of a cached rebuild but the lookups).</summary>
    [LoggerMessage(EventId = 803, Level = LogLevel.Information, Message = "build context: {Files} files received, unpacked and hashed in {Milliseconds:F1} ms ({Reused} big files the same as a recent context's)")]
    private partial void LogContextReceived(int files, int reused, double milliseconds);

    /// <summary>Each step's time, for profiling builds (berthd --log-level debug).</summary>
    [LoggerMessage(EventId = 804, Level = LogLevel.Debug, Message = "build step {Keyword} (line {Line}) took {Milliseconds:F1} ms")]
    internal partial void LogStep(string keyword, int line, double milliseconds);

    [LoggerMessage(EventId = 801, Level = LogLevel.Information, Message = "build failed: {Message}")]
    private partial void LogFailed(string message);

    /// <summary>Writes the stream messages (none but the final id with -q).</summary>
    internal sealed class Progress(Func<ProgressMessage, Task> emit, bool quiet)
    {
        public Task WriteAsync(string text) => quiet ? Task.CompletedTask : emit(new ProgressMessage { Stream = text });
    }

    internal ImageStore Images => images;

    internal ContainerService Containers => containers;

    internal BuildCache Cache => cache;

    internal CacheMountStore CacheMounts => _cacheMounts;

    /// <summary>Where RUN --mount=type=secret files live while their step runs: the exec root, tmpfs on a normal host.</summary>
    internal string SecretsRoot => Path.Combine(options.ExecRoot, "build-secrets");

    public Task<BuildCachePruneResponse> PruneAsync(bool all, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        (IReadOnlyList<string> deleted, long bytes) = _cacheMounts.Prune();
        bytes += _contextFiles.Clear();
        if (all)
        {
            cache.Clear();
        }

        LogPruned(deleted.Count, bytes);
        return Task.FromResult(new BuildCachePruneResponse { CachesDeleted = deleted.Count > 0 ? deleted : null, SpaceReclaimed = bytes });
    }

    [LoggerMessage(EventId = 802, Level = LogLevel.Information, Message = "build cache pruned: {Count} cache mounts, {Bytes} bytes")]
    private partial void LogPruned(int count, long bytes);

    /// <param name="known">Content hashes already computed (the context's, while it was received), by path.</param>
    internal static string Checksum(IEnumerable<(string Name, string Path)> sources, IReadOnlyDictionary<string, byte[]>? known = null)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach ((string name, string path) in sources)
        {
            HashTree(hash, name, path, known);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static void HashTree(IncrementalHash hash, string name, string path, IReadOnlyDictionary<string, byte[]>? known)
    {
        FileStatus status = FileStatus.TryRead(path) ?? throw new FileNotFoundException(path);
        hash.AppendData(Encoding.UTF8.GetBytes($"{name}\0{status.Type}\0{status.Permissions}\0"));
        if (status.Type == FileStatus.S_IFREG)
        {
            if (known is not null && known.TryGetValue(path, out byte[]? contentHash))
            {
                hash.AppendData(contentHash);
            }
            else
            {
                using FileStream file = File.OpenRead(path);
                hash.AppendData(SHA256.HashData(file));
            }
        }
        else if (status.Type == FileStatus.S_IFLNK)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(new FileInfo(path).LinkTarget ?? ""));
        }
        else if (status.Type == FileStatus.S_IFDIR)
        {
            foreach (string child in Directory.EnumerateFileSystemEntries(path).Order(StringComparer.Ordinal))
            {
                HashTree(hash, name + "/" + Path.GetFileName(child), child, known);
            }
        }
    }

    internal static int ParseOctal(string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out _) && text.All(c => c is >= '0' and <= '7')
            ? Convert.ToInt32(text, 8)
            : throw new DockerfileException($"invalid chmod parameter: {text}");
}
