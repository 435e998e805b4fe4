using System.Text.Json;
using Berth.Api.Types;
using Berth.Interop;
using Berth.Runtime;
using Microsoft.Extensions.Logging;

namespace Berth.Engine.Containers;

/// <summary>The native exec path: a spec for berth-exec instead of a process.json for <c>runc exec</c> (see docs/architecture.md).</summary>
public sealed partial class ExecService
{
    /// <summary>
    /// Whether an exec in <paramref name="record"/> goes through berth-exec: only for runc (another runtime's
    /// containers may not be namespaces and cgroups berth-exec knows how to join), when daemon.json's
    /// <c>exec-path</c> is "native" (the default), berth-exec is installed beside the monitor, and the container's
    /// own monitor says it runs it (a monitor started before an upgrade only knows process.json: runc exec).
    /// </summary>
    private bool UsesNativeExec(ContainerRecord record, string state)
    {
        string runtime = string.IsNullOrEmpty(record.HostConfig.Runtime) ? runtimeOptions.DefaultRuntime : record.HostConfig.Runtime;
        return runtimeOptions.NativeExec && runtime == OciRuntimeEntry.Runc && File.Exists(runtimeOptions.ExecHelperPath)
            && MonitorLauncher.MonitorSupports(state, MonitorLauncher.ExecSpecFeature) && MemfdsRun();
    }

    private int _memfdsRun; // 0 not asked yet, 1 they run, -1 they may not (an int: read and written whole across threads)

    /// <summary>
    /// berth-exec runs from a sealed memfd copy (CVE-2019-5736 class): where vm.memfd_noexec=2 forbids running one,
    /// execs go through runc exec, which binds its own binary read-only instead. Asked of the kernel once, here (the
    /// monitors share berthd's pid namespace, whose setting it is).
    /// </summary>
    private bool MemfdsRun()
    {
        int known = Volatile.Read(ref _memfdsRun);
        if (known != 0)
        {
            return known > 0;
        }

        bool run = SealedExecutable.CanRunCopies();
        if (!run)
        {
            LogMemfdNoExec();
        }

        Volatile.Write(ref _memfdsRun, run ? 1 : -1);
        return run;
    }

    [LoggerMessage(EventId = 123, Level = LogLevel.Warning, Message = "vm.memfd_noexec=2 forbids running a memfd: execs go through the runtime's exec instead of berth-exec")]
    private partial void LogMemfdNoExec();

    /// <summary>berth-exec's spec for this exec, or null (then runc exec runs it) when the container's seccomp filter cannot be compiled here.</summary>
    private byte[]? NativeSpec(ContainerRecord record, string rootfs, string state, string user, uint uid, uint gid, List<string> env, string cwd, ExecCreateRequest request)
    {
        OciSpec container;
        string bundle = Path.Combine(options.ContainersDirectory, record.Id, "bundle", "config.json");
        try
        {
            container = JsonSerializer.Deserialize(File.ReadAllBytes(bundle), RuntimeJsonContext.Default.OciSpec)
                ?? throw new JsonException("null spec");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            LogNativeUnavailable(record.Id, e.Message);
            return null;
        }

        string? seccompPath = null;
        if (container.Linux.Seccomp is { } seccomp)
        {
            seccompPath = NativeExecSpec.SeccompPathFor(state);
            try
            {
                NativeExecSpec.EnsureSeccompCompiled(seccomp, seccompPath);
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or NativeException or ArgumentException or IOException or UnauthorizedAccessException)
            {
                LogNativeUnavailable(record.Id, e.Message);
                return null;
            }
        }

        // runc exec adds HOME from the image's passwd entry when the environment has none; so must we.
        if (!env.Any(e => e.StartsWith("HOME=", StringComparison.Ordinal)))
        {
            env.Add("HOME=" + ContainerUser.Home(rootfs, uid));
        }

        var spec = new NativeExecSpec
        {
            Args = request.Cmd!,
            Env = env,
            Cwd = cwd,
            Uid = uid,
            Gid = gid,
            // Docker gives an exec the groups of its user in the image's /etc/group plus the container's --group-add.
            AdditionalGids = ContainerUser.SupplementaryGroups(rootfs, user, uid, gid, record.HostConfig.GroupAdd),
            Terminal = request.Tty,
            // Docker's CLI (API 1.42+) sends the client's size with the create: set before the process starts, so
            // its first look at the terminal (stty size, a shell's prompt) does not race the monitor's resize.
            ConsoleSize = request.ConsoleSize is [uint rows, uint columns] && rows > 0 && columns > 0 ? (rows, columns) : null,
            PrivilegedCapabilities = request.Privileged ? CapabilitySet.All(host) : null,
            SeccompPath = seccompPath,
        };
        try
        {
            return spec.Serialize(container);
        }
        catch (ArgumentException e)
        {
            LogNativeUnavailable(record.Id, e.Message);
            return null;
        }
    }

    [LoggerMessage(EventId = 122, Level = LogLevel.Warning, Message = "container {ContainerId}: native exec unavailable, using the runtime's exec: {Reason}")]
    private partial void LogNativeUnavailable(string containerId, string reason);
}
