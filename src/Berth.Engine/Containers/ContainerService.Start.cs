using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text.Json;
using Berth.Api.Types;
using Berth.Images;
using Berth.Interop;
using Berth.Primitives;
using Berth.Runtime;
using Berth.Storage.Metadata;
using Berth.Storage.Snapshots;
using Microsoft.Extensions.Logging;

namespace Berth.Engine.Containers;

/// <summary>Starting a container: rootfs, config.json, the monitor, parked attaches, the runtime's start; and recording its exit.</summary>
public sealed partial class ContainerService
{
    public async Task<bool> StartAsync(string nameOrId, CancellationToken cancellationToken)
    {
        ContainerEntry entry = Lookup(nameOrId);
        await entry.Transition.WaitAsync(cancellationToken).ConfigureAwait(false);
        bool held = true;
        try
        {
            ContainerRecord record = entry.Record;
            if (record.IsRunning)
            {
                return false;
            }

            if (record.State.Status is ContainerStatus.Removing or ContainerStatus.Dead)
            {
                throw EngineException.Conflict($"cannot start container {record.Id}: container is marked for removal");
            }

            ResetRestartPolicy(entry);
            await StartLockedAsync(entry, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (EngineException) when (entry.Record.HostConfig.AutoRemove && !entry.Record.IsRunning)
        {
            // Docker removes an auto-remove container whose start failed; `docker run --rm` waits for that.
            entry.Transition.Release();
            held = false;
            await RemoveAsync(entry.Record.Id, force: true, removeVolumes: true, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
        finally
        {
            if (held)
            {
                entry.Transition.Release();
            }
        }
    }

    private async Task StartLockedAsync(ContainerEntry entry, CancellationToken cancellationToken)
    {
        ContainerRecord record = entry.Record;
        long phase = System.Diagnostics.Stopwatch.GetTimestamp();
        ImageView image = _images.Snapshot.TryGetValue(record.ImageId, out ImageView? view)
            ? view
            : throw EngineException.NotFound($"No such image: {record.ImageId}");
        string directory = Path.Combine(_options.ContainersDirectory, record.Id);
        string bundle = Path.Combine(directory, "bundle");
        string rootfs = Path.Combine(bundle, "rootfs");
        string state = _options.ContainerStateDirectory(record.Id);
        // The previous run's monitor deletes the runtime's state just after it reports the exit; a new create of
        // the same id must come after that.
        await entry.RuntimeReleased.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
        Directory.CreateDirectory(rootfs);
        if (!entry.RootfsMounted)
        {
            MountRootfs(record, image, rootfs);
            entry.RootfsMounted = true;
        }

        try
        {
            NetworkPlan network = await SetUpNetworkAsync(record, cancellationToken).ConfigureAwait(false);
            IReadOnlyList<(string, string)> etc = WriteEtcFiles(directory, record, network.HostNetwork, NetworkEtc(record));
            (uint uid, uint gid) = ContainerUser.Resolve(rootfs, record.Config.User);
            IReadOnlyList<uint> groups = ContainerUser.SupplementaryGroups(rootfs, record.Config.User, uid, gid, record.HostConfig.GroupAdd);
            List<RunMount> mounts = SetUpMounts(record, rootfs);
            var spec = OciSpecBuilder.Build(new ContainerRunSpec
            {
                Id = record.Id,
                Args = [record.Path, .. record.Args],
                Env = record.Config.Env ?? [],
                WorkingDir = record.Config.WorkingDir ?? "/",
                Uid = uid,
                Gid = gid,
                Hostname = record.Config.Hostname ?? record.Id[..12],
                Tty = record.Config.Tty,
                ConsoleSize = record.HostConfig.ConsoleSize is [uint rows, uint columns] ? (rows, columns) : null,
                ReadonlyRootfs = record.HostConfig.ReadonlyRootfs,
                EtcFiles = etc,
                Mounts = mounts,
                InitPath = record.HostConfig.Init == true ? InitBinary() : null,
                Limits = RuntimeSettings.LimitsFor(record.HostConfig, _host),
                Security = RuntimeSettings.SecurityFor(record.HostConfig, _host, groups),
                ShmSize = record.HostConfig.ShmSize is > 0 ? record.HostConfig.ShmSize.Value : ContainerViews.DefaultShmSize,
                NetworkNamespacePath = network.HostNetwork ? "host" : network.NamespacePath,
            }, _host);
            if (!string.IsNullOrEmpty(spec.Process.Cwd) && spec.Process.Cwd != "/")
            {
                Directory.CreateDirectory(Storage.Filesystem.ScopedPath.Resolve(rootfs, spec.Process.Cwd));
            }

            await File.WriteAllBytesAsync(Path.Combine(bundle, "config.json"), JsonSerializer.SerializeToUtf8Bytes(spec, RuntimeJsonContext.Default.OciSpec), cancellationToken).ConfigureAwait(false);

            int pid;
            int monitorPid;
            try
            {
                double prepared = System.Diagnostics.Stopwatch.GetElapsedTime(phase).TotalMilliseconds;
                LogSettings logging = LogSettings.From(record.HostConfig.LogConfig);
                (pid, monitorPid) = await _monitors.LaunchAsync(record.Id, bundle, state, logging.Enabled ? record.LogPath : null, record.Config.OpenStdin, cancellationToken, record.Config.Tty, logging.MaxSize, logging.MaxFiles, _runtime.Select(record.Id, record.HostConfig.Runtime)).ConfigureAwait(false);
                LogPhase(record.Id, "prepared", prepared);
                LogPhase(record.Id, "created", System.Diagnostics.Stopwatch.GetElapsedTime(phase).TotalMilliseconds);
            }
            catch (EngineException e)
            {
                int code = e.Message.Contains("executable file not found", StringComparison.Ordinal) || e.Message.Contains("no such file or directory", StringComparison.Ordinal) ? 127
                    : e.Kind == ErrorKind.InvalidArgument ? 126 : 128;
                entry.Publish(record with { State = record.State with { Error = e.Message, ExitCode = code } });
                Persist(entry.Record);
                throw;
            }

            // Attach clients that came first are connected before the process may run, so they see all output.
            foreach (TaskCompletionSource<Socket?> pending in TakePendingAttaches(entry))
            {
                try
                {
                    pending.TrySetResult(await MonitorLauncher.AttachAsync(state, cancellationToken).ConfigureAwait(false));
                }
                catch (Exception e) when (e is SocketException or IOException)
                {
                    pending.TrySetException(e);
                }
            }

            LogPhase(record.Id, "attached", System.Diagnostics.Stopwatch.GetElapsedTime(phase).TotalMilliseconds);
            await _runtime.StartAsync(record.Id, pid, cancellationToken).ConfigureAwait(false);
            LogPhase(record.Id, "started", System.Diagnostics.Stopwatch.GetElapsedTime(phase).TotalMilliseconds);
            record = record with
            {
                State = new ContainerStateRecord { Status = ContainerStatus.Running, Pid = pid, StartedAt = DateTimeOffset.UtcNow, Health = HealthCheckOf(record) is null ? null : new ContainerHealth() },
            };
            entry.Publish(record);
            Persist(record);
            LogStarted(record.Id, pid);
            Emit(record, "start");
            _ = WatchAsync(entry, state, monitorPid);
        }
        catch
        {
            if (!entry.Record.IsRunning)
            {
                UnmountVolumes(entry.Record);
                UnmountRootfs(entry);
                await TearDownNetworkAsync(record.Id).ConfigureAwait(false);
            }

            throw;
        }
    }

    /// <summary>
    /// Mounts the container's snapshot on <paramref name="rootfs"/>. An auto-remove container's layer dies with it, so it
    /// is mounted volatile (its unmount then skips a sync of the whole file system); a kernel without that option
    /// gets the ordinary mount.
    /// </summary>
    private void MountRootfs(ContainerRecord record, ImageView image, string rootfs)
    {
        bool disposable = record.HostConfig.AutoRemove;
        IReadOnlyList<Digest> lowerChain = _images.LowerChain(image.Record);
        MountDescription mount = _images.Snapshots.Mounts(record.Id, lowerChain, disposable);
        if (mount.Type == "bind")
        {
            Mount.Attach(mount.Source, rootfs, null, Mount.MS_BIND, null);
            return;
        }

        _images.Snapshots.AllowRemount(record.Id);
        try
        {
            Mount.Attach(mount.Source, rootfs, mount.Type, 0, mount.Data);
        }
        catch (NativeException e) when (disposable && Mount.IsRefusedOption(e))
        {
            Mount.Attach(mount.Source, rootfs, mount.Type, 0, _images.Snapshots.Mounts(record.Id, lowerChain).Data);
        }
    }

    private List<TaskCompletionSource<Socket?>> TakePendingAttaches(ContainerEntry entry)
    {
        lock (entry.PendingAttaches)
        {
            var taken = new List<TaskCompletionSource<Socket?>>(entry.PendingAttaches);
            entry.PendingAttaches.Clear();
            return taken;
        }
    }

    private IReadOnlyList<(string, string)> WriteEtcFiles(string directory, ContainerRecord record, bool hostNetwork, (string? OwnAddress, List<string> Hosts, string? Nameserver) network)
    {
        string hostname = record.Config.Hostname ?? record.Id[..12];
        string hostnamePath = Path.Combine(directory, "hostname");
        string hostsPath = Path.Combine(directory, "hosts");
        string resolvPath = Path.Combine(directory, "resolv.conf");
        File.WriteAllText(hostnamePath, hostname + "\n");
        var hosts = new System.Text.StringBuilder();
        hosts.Append("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n");
        foreach (string line in network.Hosts)
        {
            hosts.Append(line).Append('\n');
        }

        hosts.Append(network.OwnAddress ?? "127.0.1.1").Append('\t').Append(hostname).Append('\n');
        File.WriteAllText(hostsPath, hostNetwork && File.Exists("/etc/hosts") ? File.ReadAllText("/etc/hosts") : hosts.ToString());
        File.WriteAllText(resolvPath, hostNetwork && File.Exists("/etc/resolv.conf") ? File.ReadAllText("/etc/resolv.conf") : network.Nameserver is not null ? EmbeddedResolvConf(record, network.Nameserver) : ResolvConf(
            record.HostConfig.Dns is { Count: > 0 } ? record.HostConfig.Dns : _options.Defaults.Dns,
            record.HostConfig.DnsSearch is { Count: > 0 } ? record.HostConfig.DnsSearch : _options.Defaults.DnsSearch,
            record.HostConfig.DnsOptions is { Count: > 0 } ? record.HostConfig.DnsOptions : _options.Defaults.DnsOptions));
        return [(hostsPath, "/etc/hosts"), (hostnamePath, "/etc/hostname"), (resolvPath, "/etc/resolv.conf")];
    }

    /// <summary>The host's resolv.conf without loopback resolvers (unreachable from a container), as Docker does.</summary>
    private static string ResolvConf(IReadOnlyList<string>? dns, IReadOnlyList<string>? search, IReadOnlyList<string>? options)
    {
        var lines = new List<string>();
        if (dns is { Count: > 0 })
        {
            lines.AddRange(dns.Select(d => "nameserver " + d));
        }
        else if (File.Exists("/etc/resolv.conf"))
        {
            foreach (string line in File.ReadLines("/etc/resolv.conf"))
            {
                string trimmed = line.Trim();
                if (trimmed.StartsWith("nameserver", StringComparison.Ordinal) && (trimmed.Contains(" 127.", StringComparison.Ordinal) || trimmed.EndsWith(" ::1", StringComparison.Ordinal)))
                {
                    continue;
                }

                if ((trimmed.StartsWith("search", StringComparison.Ordinal) && search is { Count: > 0 }) || (trimmed.StartsWith("options", StringComparison.Ordinal) && options is { Count: > 0 }))
                {
                    continue;
                }

                lines.Add(trimmed);
            }
        }

        if (search is { Count: > 0 })
        {
            lines.Add("search " + string.Join(' ', search));
        }

        if (options is { Count: > 0 })
        {
            lines.Add("options " + string.Join(' ', options));
        }

        if (!lines.Any(l => l.StartsWith("nameserver", StringComparison.Ordinal)))
        {
            lines.Add("nameserver 8.8.8.8");
            lines.Add("nameserver 8.8.4.4");
        }

        return string.Join('\n', lines) + "\n";
    }

    private string InitBinary() =>
        File.Exists(_runtime.Options.InitPath) ? _runtime.Options.InitPath
            : throw EngineException.Invalid($"exec: \"docker-init\": executable file not found in $PATH ({_runtime.Options.InitPath} is missing)");

    /// <summary>Follows a running container until it exits, then records the exit.</summary>
    private async Task WatchAsync(ContainerEntry entry, string state, int? monitorPid)
    {
        MonitorExit? exit = null;
        try
        {
            (exit, Task released) = await MonitorLauncher.WaitAsync(state, _shutdown.Token).ConfigureAwait(false);
            entry.RuntimeReleased = released;
            if (monitorPid is int pid)
            {
                _ = released.ContinueWith(_ => MonitorLauncher.ReapAsync(pid), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).Unwrap();
            }
        }
        catch (OperationCanceledException)
        {
            return; // the daemon is stopping; the monitor keeps the container and we restore it next start
        }
        catch (Exception e)
        {
            LogWatchFailed(entry.Record.Id, e);
        }

        await OnExitedAsync(entry, exit ?? new MonitorExit { ExitCode = 255, FinishedAt = DateTimeOffset.UtcNow }).ConfigureAwait(false);
    }

    private async Task OnExitedAsync(ContainerEntry entry, MonitorExit exit)
    {
        long phase = System.Diagnostics.Stopwatch.GetTimestamp();
        await entry.Transition.WaitAsync().ConfigureAwait(false);
        bool autoRemove;
        PendingRestart? restart;
        try
        {
            ContainerRecord record = entry.Record with
            {
                State = entry.Record.State with
                {
                    Status = ContainerStatus.Exited,
                    Pid = 0,
                    ExitCode = exit.ExitCode,
                    OomKilled = exit.OomKilled,
                    FinishedAt = exit.FinishedAt,
                },
            };
            UnmountVolumes(record);
            (record, restart) = ApplyRestartPolicy(record);
            UnmountRootfs(entry);
            await TearDownNetworkAsync(record.Id).ConfigureAwait(false);
            entry.Publish(record);
            Persist(record);
            LogExited(record.Id, exit.ExitCode);
            EmitDie(record, record.State.StartedAt, exit.ExitCode, exit.OomKilled);
            autoRemove = record.HostConfig.AutoRemove;
            LogExitPhase(record.Id, "recorded", System.Diagnostics.Stopwatch.GetElapsedTime(phase).TotalMilliseconds);
        }
        finally
        {
            entry.Transition.Release();
        }

        entry.SignalExit(exit.ExitCode);
        if (restart is not null)
        {
            _ = RestartAfterBackoffAsync(entry, restart);
        }

        if (autoRemove)
        {
            try
            {
                await RemoveAsync(entry.Record.Id, force: true, removeVolumes: true, CancellationToken.None).ConfigureAwait(false);
                LogExitPhase(entry.Record.Id, "removed", System.Diagnostics.Stopwatch.GetElapsedTime(phase).TotalMilliseconds);
            }
            catch (EngineException e) when (e.Kind == ErrorKind.NotFound)
            {
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or NativeException or EngineException)
            {
                // Nobody awaits this removal: say why the container stayed.
                LogAutoRemoveFailed(entry.Record.Id, e);
            }
        }
    }

    private void UnmountRootfs(ContainerEntry entry)
    {
        string rootfs = Path.Combine(_options.ContainersDirectory, entry.Record.Id, "bundle", "rootfs");
        try
        {
            Mount.Detach(rootfs);
        }
        catch (NativeException e)
        {
            LogUnmountFailed(rootfs, e);
            Mount.Detach(rootfs, lazy: true);
        }

        entry.RootfsMounted = false;
    }
}
