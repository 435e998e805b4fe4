using Berth.Cli.Parsing;

namespace Berth.Cli.Options;

/// <summary>
/// The flags of <c>berth run</c> and <c>berth create</c>, exactly docker's (generated from the docker CLI
/// reference, container_run.md). Every flag is accepted; <see cref="ContainerOptions"/> maps the ones the
/// Engine API has a field for, and the daemon decides what it honours.
/// </summary>
internal static class ContainerFlags
{
    /// <summary>The flags shared by run and create.</summary>
    public static void DefineCreate(FlagSet f)
    {
        f.List("add-host", null, "Add a custom host-to-IP mapping (host:ip)", typeName: "list");
        f.List("annotation", null, "Add an annotation to the container (passed through to the OCI runtime)", typeName: "map");
        f.List("attach", 'a', "Attach to STDIN, STDOUT or STDERR", typeName: "list");
        f.Int("blkio-weight", null, "Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)", typeName: "uint16");
        f.List("blkio-weight-device", null, "Block IO weight (relative device weight)", typeName: "list");
        f.List("cap-add", null, "Add Linux capabilities", typeName: "list");
        f.List("cap-drop", null, "Drop Linux capabilities", typeName: "list");
        f.String("cgroup-parent", null, "Optional parent cgroup for the container", typeName: "string");
        f.String("cgroupns", null, "Cgroup namespace to use (host|private)\n'host':    Run the container in the Docker host's cgroup namespace\n'private': Run the container in its own private cgroup namespace\n'':        Use the cgroup namespace as configured by the\n           default-cgroupns-mode option on the daemon (default)", typeName: "string");
        f.String("cidfile", null, "Write the container ID to the file", typeName: "string");
        f.Int("cpu-count", null, "CPU count (Windows only)", typeName: "int64", hidden: true);
        f.Int("cpu-percent", null, "CPU percent (Windows only)", typeName: "int64", hidden: true);
        f.Int("cpu-period", null, "Limit CPU CFS (Completely Fair Scheduler) period", typeName: "int64");
        f.Int("cpu-quota", null, "Limit CPU CFS (Completely Fair Scheduler) quota", typeName: "int64");
        f.Int("cpu-rt-period", null, "Limit CPU real-time period in microseconds", typeName: "int64");
        f.Int("cpu-rt-runtime", null, "Limit CPU real-time runtime in microseconds", typeName: "int64");
        f.Int("cpu-shares", 'c', "CPU shares (relative weight)", typeName: "int64");
        f.String("cpus", null, "Number of CPUs", typeName: "decimal");
        f.String("cpuset-cpus", null, "CPUs in which to allow execution (0-3, 0,1)", typeName: "string");
        f.String("cpuset-mems", null, "MEMs in which to allow execution (0-3, 0,1)", typeName: "string");
        f.List("device", null, "Add a host device to the container", typeName: "list");
        f.List("device-cgroup-rule", null, "Add a rule to the cgroup allowed devices list", typeName: "list");
        f.List("device-read-bps", null, "Limit read rate (bytes per second) from a device", typeName: "list");
        f.List("device-read-iops", null, "Limit read rate (IO per second) from a device", typeName: "list");
        f.List("device-write-bps", null, "Limit write rate (bytes per second) to a device", typeName: "list");
        f.List("device-write-iops", null, "Limit write rate (IO per second) to a device", typeName: "list");
        f.List("dns", null, "Set custom DNS servers", typeName: "list");
        f.List("dns-option", null, "Set DNS options", typeName: "list");
        f.List("dns-search", null, "Set custom DNS search domains", typeName: "list");
        f.String("domainname", null, "Container NIS domain name", typeName: "string");
        f.String("entrypoint", null, "Overwrite the default ENTRYPOINT of the image", typeName: "string");
        f.List("env", 'e', "Set environment variables", typeName: "list");
        f.List("env-file", null, "Read in a file of environment variables", typeName: "list");
        f.List("expose", null, "Expose a port or a range of ports", typeName: "list");
        f.List("gpus", null, "GPU devices to add to the container ('all' to pass all GPUs)", typeName: "gpu-request");
        f.List("group-add", null, "Add additional groups to join", typeName: "list");
        f.String("health-cmd", null, "Command to run to check health", typeName: "string");
        f.String("health-interval", null, "Time between running the check (ms|s|m|h) (default 0s)", defaultValue: "0s", typeName: "duration");
        f.Int("health-retries", null, "Consecutive failures needed to report unhealthy", typeName: "int");
        f.String("health-start-interval", null, "Time between running the check during the start period (ms|s|m|h) (default 0s)", defaultValue: "0s", typeName: "duration");
        f.String("health-start-period", null, "Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)", defaultValue: "0s", typeName: "duration");
        f.String("health-timeout", null, "Maximum time to allow one check to run (ms|s|m|h) (default 0s)", defaultValue: "0s", typeName: "duration");
        f.String("hostname", 'h', "Container host name", typeName: "string");
        f.Bool("init", null, "Run an init inside the container that forwards signals and reaps processes");
        f.Bool("interactive", 'i', "Keep STDIN open even if not attached");
        f.String("io-maxbandwidth", null, "Maximum IO bandwidth limit for the system drive (Windows only)", typeName: "bytes", hidden: true);
        f.String("io-maxiops", null, "Maximum IOps limit for the system drive (Windows only)", typeName: "uint64", hidden: true);
        f.String("ip", null, "IPv4 address (e.g., 172.30.100.104)", defaultValue: "<nil>", typeName: "ip");
        f.String("ip6", null, "IPv6 address (e.g., 2001:db8::33)", defaultValue: "<nil>", typeName: "ip");
        f.String("ipc", null, "IPC mode to use", typeName: "string");
        f.String("isolation", null, "Container isolation technology", typeName: "string");
        f.List("label", 'l', "Set meta data on a container", typeName: "list");
        f.List("label-file", null, "Read in a line delimited file of labels", typeName: "list");
        f.List("link", null, "Add link to another container", typeName: "list");
        f.List("link-local-ip", null, "Container IPv4/IPv6 link-local addresses", typeName: "list");
        f.String("log-driver", null, "Logging driver for the container", typeName: "string");
        f.List("log-opt", null, "Log driver options", typeName: "list");
        f.String("mac-address", null, "Container MAC address (e.g., 92:d0:c6:0a:29:33)", typeName: "string");
        f.String("memory", 'm', "Memory limit", typeName: "bytes");
        f.String("memory-reservation", null, "Memory soft limit", typeName: "bytes");
        f.String("memory-swap", null, "Swap limit equal to memory plus swap: '-1' to enable unlimited swap", typeName: "bytes");
        f.Int("memory-swappiness", null, "Tune container memory swappiness (0 to 100)", defaultValue: -1, typeName: "int64");
        f.List("mount", null, "Attach a filesystem mount to the container", typeName: "mount");
        f.String("name", null, "Assign a name to the container", typeName: "string");
        f.String("network", null, "Connect a container to a network", typeName: "network");
        f.List("network-alias", null, "Add network-scoped alias for the container", typeName: "list");
        f.Bool("no-healthcheck", null, "Disable any container-specified HEALTHCHECK");
        f.Bool("oom-kill-disable", null, "Disable OOM Killer");
        f.Int("oom-score-adj", null, "Tune host's OOM preferences (-1000 to 1000)", typeName: "int");
        f.String("pid", null, "PID namespace to use", typeName: "string");
        f.Int("pids-limit", null, "Tune container pids limit (set -1 for unlimited)", typeName: "int64");
        f.String("platform", null, "Set platform if server is multi-platform capable", typeName: "string");
        f.Bool("privileged", null, "Give extended privileges to this container");
        f.List("publish", 'p', "Publish a container's port(s) to the host", typeName: "list");
        f.Bool("publish-all", 'P', "Publish all exposed ports to random ports");
        f.String("pull", null, "Pull image before running (always, missing, never)", defaultValue: "missing", typeName: "string");
        f.Bool("quiet", 'q', "Suppress the pull output");
        f.Bool("read-only", null, "Mount the container's root filesystem as read only");
        f.String("restart", null, "Restart policy to apply when a container exits", defaultValue: "no", typeName: "string");
        f.Bool("rm", null, "Automatically remove the container and its associated anonymous volumes when it exits");
        f.String("runtime", null, "Runtime to use for this container", typeName: "string");
        f.List("security-opt", null, "Security Options", typeName: "list");
        f.String("shm-size", null, "Size of /dev/shm", typeName: "bytes");
        f.String("stop-signal", null, "Signal to stop the container", typeName: "string");
        f.Int("stop-timeout", null, "Timeout (in seconds) to stop a container", typeName: "int");
        f.List("storage-opt", null, "Storage driver options for the container", typeName: "list");
        f.List("sysctl", null, "Sysctl options", typeName: "map");
        f.List("tmpfs", null, "Mount a tmpfs directory", typeName: "list");
        f.Bool("tty", 't', "Allocate a pseudo-TTY");
        f.List("ulimit", null, "Ulimit options", typeName: "ulimit");
        f.Bool("use-api-socket", null, "Bind mount Docker API socket and required auth");
        f.String("user", 'u', "Username or UID (format: <name|uid>[:<group|gid>])", typeName: "string");
        f.String("userns", null, "User namespace to use", typeName: "string");
        f.String("uts", null, "UTS namespace to use", typeName: "string");
        f.List("volume", 'v', "Bind mount a volume", typeName: "list");
        f.String("volume-driver", null, "Optional volume driver for the container", typeName: "string");
        f.List("volumes-from", null, "Mount volumes from the specified container(s)", typeName: "list");
        f.String("workdir", 'w', "Working directory inside the container", typeName: "string");
    }

    /// <summary>The flags of run: create's plus detach and signal proxying.</summary>
    public static void DefineRun(FlagSet f)
    {
        DefineCreate(f);
        f.Bool("detach", 'd', "Run container in background and print container ID");
        f.String("detach-keys", null, "Override the key sequence for detaching a container", typeName: "string");
        f.Bool("sig-proxy", null, "Proxy received signals to the process", defaultValue: true);
    }
}
