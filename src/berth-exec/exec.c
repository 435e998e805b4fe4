/*
 * berth-exec: starts a process inside a running container, doing what `runc exec` does without runc's start-up
 * cost (a Go runtime, nsexec's re-exec dance and state loading: 30-48 ms a call here, against about 2 ms for this).
 * The monitor runs it for an exec when berthd wrote a spec for it (the default runc runtime, "exec-path": "native").
 *
 * usage: berth-exec --spec FILE --pid PID --start TICKS --pid-file FILE --log FILE [--console-socket PATH]
 *   --spec            what to run, written by berthd (see docs/architecture.md, "exec"): NUL-terminated records
 *                     "key value"; keys: arg, env, cwd, uid, gid, group, capb/cape/capp/capi/capa (hex masks),
 *                     rlimit "N SOFT HARD", nnp, oom, seccomp (a BPF program file: struct sock_filter[]), terminal.
 *   --pid, --start    the container's init and its start time (field 22 of /proc/PID/stat, from runc's state):
 *                     a pidfd taken on PID, then checked against TICKS, guards against a reused pid.
 *   --pid-file        where the host pid of the process goes once it runs.
 *   --log             where a failure to start it is written (one line; the monitor reports it as runc's error).
 *   --console-socket  with a terminal: the PTY master is sent there (SCM_RIGHTS), as runc's --console-socket does.
 * It stays the parent of the process and exits with its status (128 + signal when a signal ended it).
 *
 * Order matters for safety (the same order as runc's):
 *  1. non-dumpable first (CVE-2019-5736 class: a container process must not open /proc/<us>/exe or ptrace us), and
 *     every descriptor beyond stdio closed (CVE-2024-21626 class); all we open is O_CLOEXEC.
 *  2. host-side files (spec, BPF, pid file, log, console socket, pidfd) are opened before any namespace is joined;
 *     the cwd is only ever changed after joining the container's mount namespace.
 *  3. the container init's cgroups (every v1 hierarchy and the v2 one) are joined by writing our pid to cgroup.procs.
 *  4. its namespaces through the pidfd (setns on a pidfd, Linux 5.8+): ipc, uts, net, pid, mnt, cgroup at once.
 *  5. fork (a pid namespace applies to children); the child sets up its terminal, user, capabilities, rlimits, no_new_privs,
 *     cwd, then loads the seccomp filter and execs. AppArmor and SELinux are not in use on Berth (no profile is
 *     ever set in the container's spec), so there is no label to apply here.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define MAX_ITEMS 4096
#define MAX_RLIMITS 32

struct spec {
    char *args[MAX_ITEMS + 1];
    int nargs;
    char *env[MAX_ITEMS + 1];
    int nenv;
    const char *cwd;
    uid_t uid;
    gid_t gid;
    gid_t groups[256];
    int ngroups;
    uint64_t capb, cape, capp, capi, capa;
    struct { int resource; struct rlimit limit; } rlimits[MAX_RLIMITS];
    int nrlimits;
    int nnp;
    int has_oom;
    int oom;
    const char *seccomp;
    int terminal;
};

static int log_fd = -1;

/* Writes "exec failed: MESSAGE" to the log (what the monitor reports) and exits with CODE. */
static void fail(int code, const char *format, ...) __attribute__((format(printf, 2, 3), noreturn));
static void fail(int code, const char *format, ...)
{
    char message[1024];
    va_list args;
    va_start(args, format);
    int length = vsnprintf(message, sizeof message, format, args);
    va_end(args);
    if (length < 0) {
        length = 0;
    } else if ((size_t)length >= sizeof message) {
        length = sizeof message - 1;
    }
    if (log_fd >= 0) {
        ssize_t ignored = write(log_fd, message, (size_t)length);
        (void)ignored;
    } else {
        fprintf(stderr, "berth-exec: %s\n", message);
    }
    _exit(code);
}

static char *read_file(const char *path, size_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return NULL;
    }
    size_t capacity = 4096, used = 0;
    char *buffer = malloc(capacity + 1);
    for (;;) {
        if (buffer == NULL) {
            close(fd);
            return NULL;
        }
        ssize_t count = read(fd, buffer + used, capacity - used);
        if (count < 0 && errno == EINTR) {
            continue;
        }
        if (count < 0) {
            free(buffer);
            close(fd);
            return NULL;
        }
        if (count == 0) {
            break;
        }
        used += (size_t)count;
        if (used == capacity) {
            capacity *= 2;
            buffer = realloc(buffer, capacity + 1);
        }
    }
    close(fd);
    buffer[used] = '\0';
    *size = used;
    return buffer;
}

static unsigned long long number(const char *text, int base, const char *what)
{
    char *end;
    errno = 0;
    unsigned long long value = strtoull(text, &end, base);
    if (errno != 0 || end == text || (*end != '\0' && *end != ' ')) {
        fail(126, "exec failed: bad %s in the exec spec: '%s'", what, text);
    }
    return value;
}

static void parse_spec(char *data, size_t size, struct spec *spec)
{
    if (size == 0 || data[size - 1] != '\0') {
        fail(126, "exec failed: the exec spec is truncated");
    }
    for (char *record = data, *next; record < data + size; record = next) {
        next = record + strlen(record) + 1; /* before the key is cut off at its space */
        char *value = strchr(record, ' ');
        if (value == NULL) {
            fail(126, "exec failed: bad exec spec record '%s'", record);
        }
        *value++ = '\0';
        if (strcmp(record, "arg") == 0 && spec->nargs < MAX_ITEMS) {
            spec->args[spec->nargs++] = value;
        } else if (strcmp(record, "env") == 0 && spec->nenv < MAX_ITEMS) {
            spec->env[spec->nenv++] = value;
        } else if (strcmp(record, "cwd") == 0) {
            spec->cwd = value;
        } else if (strcmp(record, "uid") == 0) {
            spec->uid = (uid_t)number(value, 10, "uid");
        } else if (strcmp(record, "gid") == 0) {
            spec->gid = (gid_t)number(value, 10, "gid");
        } else if (strcmp(record, "group") == 0 && spec->ngroups < 256) {
            spec->groups[spec->ngroups++] = (gid_t)number(value, 10, "group");
        } else if (strcmp(record, "capb") == 0) {
            spec->capb = number(value, 16, "capb");
        } else if (strcmp(record, "cape") == 0) {
            spec->cape = number(value, 16, "cape");
        } else if (strcmp(record, "capp") == 0) {
            spec->capp = number(value, 16, "capp");
        } else if (strcmp(record, "capi") == 0) {
            spec->capi = number(value, 16, "capi");
        } else if (strcmp(record, "capa") == 0) {
            spec->capa = number(value, 16, "capa");
        } else if (strcmp(record, "rlimit") == 0 && spec->nrlimits < MAX_RLIMITS) {
            char *soft = strchr(value, ' ');
            char *hard = soft != NULL ? strchr(soft + 1, ' ') : NULL;
            if (hard == NULL) {
                fail(126, "exec failed: bad rlimit in the exec spec");
            }
            spec->rlimits[spec->nrlimits].resource = (int)number(value, 10, "rlimit");
            spec->rlimits[spec->nrlimits].limit.rlim_cur = number(soft + 1, 10, "rlimit");
            spec->rlimits[spec->nrlimits].limit.rlim_max = number(hard + 1, 10, "rlimit");
            spec->nrlimits++;
        } else if (strcmp(record, "nnp") == 0) {
            spec->nnp = value[0] == '1';
        } else if (strcmp(record, "oom") == 0) {
            spec->has_oom = 1;
            spec->oom = atoi(value);
        } else if (strcmp(record, "seccomp") == 0) {
            spec->seccomp = value;
        } else if (strcmp(record, "terminal") == 0) {
            spec->terminal = value[0] == '1';
        } else {
            fail(126, "exec failed: unknown exec spec record '%s'", record);
        }
    }
    if (spec->nargs == 0) {
        fail(126, "exec failed: no command in the exec spec");
    }
}

/* Field 22 (starttime) of /proc/PID/stat; the command name (field 2) may hold spaces and parentheses. */
static unsigned long long start_time(int pid)
{
    char path[64];
    size_t size;
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    char *stat = read_file(path, &size);
    char *field = stat != NULL ? strrchr(stat, ')') : NULL;
    if (field == NULL) {
        free(stat);
        return 0;
    }
    /* Each step moves to the space before the next field, from field 3 (state) to field 22. */
    for (int index = 3; index <= 22 && field != NULL; index++) {
        field = strchr(field + 1, ' ');
    }
    unsigned long long value = field != NULL ? strtoull(field + 1, NULL, 10) : 0;
    free(stat);
    return value;
}

/* The mount point of the cgroup hierarchy named CONTROLLERS ("" for v2) in our (host) mount namespace. */
static int cgroup_mount(const char *mountinfo, const char *controllers, char *out, size_t size)
{
    for (const char *line = mountinfo; *line != '\0';) {
        const char *end = strchr(line, '\n');
        if (end == NULL) {
            end = line + strlen(line);
        }
        char copy[1024];
        size_t length = (size_t)(end - line);
        if (length < sizeof copy) {
            memcpy(copy, line, length);
            copy[length] = '\0';
            /* id parent major:minor root mountpoint options [optional...] - fstype source superoptions */
            char *fields[6] = {0};
            char *cursor = copy;
            for (int i = 0; i < 5 && cursor != NULL; i++) {
                fields[i] = cursor;
                cursor = strchr(cursor, ' ');
                if (cursor != NULL) {
                    *cursor++ = '\0';
                }
            }
            char *dash = cursor != NULL ? strstr(cursor, " - ") : NULL;
            if (dash != NULL && fields[3] != NULL && strcmp(fields[3], "/") == 0) {
                char *fstype = dash + 3;
                char *source = strchr(fstype, ' ');
                char *options = source != NULL ? strchr(source + 1, ' ') : NULL;
                if (source != NULL && options != NULL) {
                    *source = '\0';
                    options++;
                    int match = 0;
                    if (controllers[0] == '\0') {
                        match = strcmp(fstype, "cgroup2") == 0;
                    } else if (strcmp(fstype, "cgroup") == 0) {
                        /* Every controller of the hierarchy must be among the super options. */
                        match = 1;
                        char wanted[256];
                        snprintf(wanted, sizeof wanted, "%s", controllers);
                        for (char *save = NULL, *name = strtok_r(wanted, ",", &save); name != NULL; name = strtok_r(NULL, ",", &save)) {
                            char option[260];
                            snprintf(option, sizeof option, ",%s,", name);
                            char all[1024];
                            snprintf(all, sizeof all, ",%s,", options);
                            if (strstr(all, option) == NULL) {
                                match = 0;
                            }
                        }
                    }
                    if (match) {
                        snprintf(out, size, "%s", fields[4]);
                        return 1;
                    }
                }
            }
        }
        line = *end == '\0' ? end : end + 1;
    }
    return 0;
}

/* Moves us into every cgroup the container's init is in (v1 hierarchies and the v2 unified one alike). */
static void join_cgroups(int pid)
{
    char path[4200];
    size_t size;
    snprintf(path, sizeof path, "/proc/%d/cgroup", pid);
    char *cgroups = read_file(path, &size);
    char *mountinfo = read_file("/proc/self/mountinfo", &size);
    if (cgroups == NULL || mountinfo == NULL) {
        fail(126, "exec failed: reading the container's cgroups: %s", strerror(errno));
    }
    char self[32];
    int selflength = snprintf(self, sizeof self, "%d", getpid());
    for (char *save = NULL, *line = strtok_r(cgroups, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        /* hierarchy-id:controllers:path */
        char *controllers = strchr(line, ':');
        char *relative = controllers != NULL ? strchr(controllers + 1, ':') : NULL;
        if (relative == NULL) {
            continue;
        }
        *controllers++ = '\0';
        *relative++ = '\0';
        char mount[1024];
        if (!cgroup_mount(mountinfo, controllers, mount, sizeof mount)) {
            continue; /* a hierarchy that is not mounted here (none is joined by runc either) */
        }
        snprintf(path, sizeof path, "%s%s/cgroup.procs", mount, relative);
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, self, (size_t)selflength) != selflength) {
            fail(126, "exec failed: joining cgroup %s: %s", path, strerror(errno));
        }
        close(fd);
    }
    free(cgroups);
    free(mountinfo);
}

static int connect_console(const char *path)
{
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof address.sun_path) {
        fail(126, "exec failed: console socket path too long");
    }
    strcpy(address.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
        fail(126, "exec failed: connecting to the console socket: %s", strerror(errno));
    }
    return fd;
}

/* Sends the PTY master over the console socket with its name as the payload, as runc does. */
static void send_master(int socket_fd, int master, const char *name)
{
    char control[CMSG_SPACE(sizeof(int))];
    memset(control, 0, sizeof control);
    struct iovec iov = {.iov_base = (void *)name, .iov_len = strlen(name)};
    struct msghdr message = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(header), &master, sizeof(int));
    if (sendmsg(socket_fd, &message, MSG_NOSIGNAL) < 0) {
        fail(126, "exec failed: sending the terminal to the console socket: %s", strerror(errno));
    }
}

static void set_capabilities(uint64_t effective, uint64_t permitted, uint64_t inheritable)
{
    struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2] = {
        {.effective = (uint32_t)effective, .permitted = (uint32_t)permitted, .inheritable = (uint32_t)inheritable},
        {.effective = (uint32_t)(effective >> 32), .permitted = (uint32_t)(permitted >> 32), .inheritable = (uint32_t)(inheritable >> 32)},
    };
    if (syscall(SYS_capset, &header, data) != 0) {
        fail(126, "exec failed: capset: %s", strerror(errno));
    }
}

/* strerror as Go spells it (lower case: "no such file or directory"), which is what berthd matches for 127. */
static const char *go_error(int error)
{
    static char text[128];
    snprintf(text, sizeof text, "%s", strerror(error));
    if (text[0] >= 'A' && text[0] <= 'Z') {
        text[0] = (char)(text[0] - 'A' + 'a');
    }
    return text;
}

/* execvp's search, with Go's exec.LookPath rules and runc's messages: the exit codes follow (127 not found, 126 not runnable). */
static const char *look_path(const char *file, char **env, char *buffer, size_t size)
{
    struct stat status;
    if (strchr(file, '/') != NULL) {
        if (stat(file, &status) != 0) {
            fail(127, "exec failed: unable to start container process: exec: \"%s\": stat %s: %s", file, file, go_error(errno));
        }
        if (S_ISDIR(status.st_mode) || (status.st_mode & 0111) == 0) {
            fail(126, "exec failed: unable to start container process: exec: \"%s\": permission denied", file);
        }
        return file;
    }
    const char *path = "";
    for (int i = 0; env[i] != NULL; i++) {
        if (strncmp(env[i], "PATH=", 5) == 0) {
            path = env[i] + 5;
        }
    }
    for (const char *dir = path;; dir++) {
        const char *end = strchrnul(dir, ':');
        int length = (int)(end - dir);
        snprintf(buffer, size, "%.*s%s%s", length, length == 0 ? "." : dir, "/", file);
        if (length == 0) {
            snprintf(buffer, size, "./%s", file);
        }
        if (stat(buffer, &status) == 0 && !S_ISDIR(status.st_mode) && (status.st_mode & 0111) != 0) {
            return buffer;
        }
        if (*end == '\0') {
            break;
        }
        dir = end;
    }
    fail(127, "exec failed: unable to start container process: exec: \"%s\": executable file not found in $PATH", file);
}

static void load_seccomp(const struct sock_fprog *program)
{
    if (program->len > 0 && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, program, 0, 0) != 0) {
        fail(126, "exec failed: loading the seccomp filter: %s", strerror(errno));
    }
}

/* The exec'd process: terminal, user, capabilities, limits, cwd, seccomp, exec. Never returns. */
static void child(struct spec *spec, int slave, const struct sock_fprog *filter)
{
    if (setsid() < 0) {
        fail(126, "exec failed: setsid: %s", strerror(errno));
    }
    if (slave >= 0) {
        if (ioctl(slave, TIOCSCTTY, 0) != 0) {
            fail(126, "exec failed: making the terminal the controlling one: %s", strerror(errno));
        }
        for (int fd = 0; fd < 3; fd++) {
            if (dup2(slave, fd) < 0) {
                fail(126, "exec failed: dup2: %s", strerror(errno));
            }
        }
        if (slave > 2) {
            close(slave);
        }
    }
    for (int i = 0; i < spec->nrlimits; i++) {
        if (setrlimit(spec->rlimits[i].resource, &spec->rlimits[i].limit) != 0) {
            fail(126, "exec failed: setrlimit %d: %s", spec->rlimits[i].resource, strerror(errno));
        }
    }
    /* As root first, like runc: a cwd the user may not search but root may is still entered. */
    int in_cwd = chdir(spec->cwd) == 0;
    if (!in_cwd && errno != EACCES && errno != EPERM) {
        fail(126, "exec failed: unable to start container process: chdir to cwd (\"%s\") set in config.json failed: %s", spec->cwd, go_error(errno));
    }
    int last_cap = 0;
    {
        size_t size;
        char *text = read_file("/proc/sys/kernel/cap_last_cap", &size);
        last_cap = text != NULL ? atoi(text) : 40;
        free(text);
    }
    for (int cap = 0; cap <= last_cap && cap < 64; cap++) {
        if ((spec->capb & (1ULL << cap)) == 0 && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) {
            fail(126, "exec failed: dropping capability %d from the bounding set: %s", cap, strerror(errno));
        }
    }
    /* Keep the permitted set across the change of uid; the final sets are applied below. */
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) {
        fail(126, "exec failed: PR_SET_KEEPCAPS: %s", strerror(errno));
    }
    if (setgroups((size_t)spec->ngroups, spec->groups) != 0) {
        fail(126, "exec failed: setgroups: %s", strerror(errno));
    }
    if (setresgid(spec->gid, spec->gid, spec->gid) != 0 || setresuid(spec->uid, spec->uid, spec->uid) != 0) {
        fail(126, "exec failed: setting uid %u gid %u: %s", spec->uid, spec->gid, strerror(errno));
    }
    prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
    /*
     * Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: keep it (permitted and effective) until the filter
     * is in, then drop to the final sets with one capset (which Docker's profile, like any sane one, allows).
     */
    const uint64_t sys_admin = 1ULL << CAP_SYS_ADMIN;
    int keep_admin = filter->len > 0 && !spec->nnp && (spec->cape & sys_admin) == 0;
    set_capabilities(spec->cape | (keep_admin ? sys_admin : 0), spec->capp | (keep_admin ? sys_admin : 0), spec->capi);
    if (!in_cwd && chdir(spec->cwd) != 0) {
        fail(126, "exec failed: unable to start container process: chdir to cwd (\"%s\") set in config.json failed: %s", spec->cwd, go_error(errno));
    }
    if (spec->nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        fail(126, "exec failed: no_new_privs: %s", strerror(errno));
    }
    spec->env[spec->nenv] = NULL;
    spec->args[spec->nargs] = NULL;
    char resolved[4096];
    const char *program = look_path(spec->args[0], spec->env, resolved, sizeof resolved);
    load_seccomp(filter);
    if (keep_admin) {
        set_capabilities(spec->cape, spec->capp, spec->capi);
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
        fail(126, "exec failed: clearing ambient capabilities: %s", strerror(errno));
    }
    for (int cap = 0; cap < 64; cap++) {
        if ((spec->capa & (1ULL << cap)) != 0 && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) != 0) {
            fail(126, "exec failed: raising ambient capability %d: %s", cap, strerror(errno));
        }
    }
    execve(program, spec->args, spec->env);
    fail(errno == ENOENT ? 127 : 126, "exec failed: unable to start container process: exec %s: %s", program, go_error(errno));
}

int main(int argc, char **argv)
{
    /* 1. Before anything else: no one may ptrace us or open /proc/<us>/exe, and no inherited descriptor survives. */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
        fail(126, "exec failed: PR_SET_DUMPABLE: %s", strerror(errno));
    }
    if (syscall(SYS_close_range, 3U, ~0U, 0) != 0) {
        fail(126, "exec failed: close_range: %s", strerror(errno));
    }

    const char *spec_path = NULL, *pid_path = NULL, *log_path = NULL, *console_path = NULL;
    long init_pid = 0;
    unsigned long long init_start = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--spec") == 0) {
            spec_path = argv[i + 1];
        } else if (strcmp(argv[i], "--pid") == 0) {
            init_pid = strtol(argv[i + 1], NULL, 10);
        } else if (strcmp(argv[i], "--start") == 0) {
            init_start = strtoull(argv[i + 1], NULL, 10);
        } else if (strcmp(argv[i], "--pid-file") == 0) {
            pid_path = argv[i + 1];
        } else if (strcmp(argv[i], "--log") == 0) {
            log_path = argv[i + 1];
        } else if (strcmp(argv[i], "--console-socket") == 0) {
            console_path = argv[i + 1];
        } else {
            fail(126, "unknown argument '%s'", argv[i]);
        }
    }
    if (spec_path == NULL || pid_path == NULL || log_path == NULL || init_pid <= 0 || (argc % 2) != 1) {
        fail(126, "usage: berth-exec --spec FILE --pid PID --start TICKS --pid-file FILE --log FILE [--console-socket PATH]");
    }

    /* 2. Everything on the host side, opened while our mount namespace is still the host's. */
    log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (log_fd < 0) {
        fail(126, "exec failed: opening %s: %s", log_path, strerror(errno));
    }
    size_t spec_size;
    char *spec_data = read_file(spec_path, &spec_size);
    if (spec_data == NULL) {
        fail(126, "exec failed: reading the exec spec: %s", strerror(errno));
    }
    static struct spec spec = {.cwd = "/"};
    parse_spec(spec_data, spec_size, &spec);
    struct sock_fprog filter = {0};
    if (spec.seccomp != NULL) {
        size_t size;
        char *program = read_file(spec.seccomp, &size);
        if (program == NULL || size == 0 || size % sizeof(struct sock_filter) != 0 || size / sizeof(struct sock_filter) > BPF_MAXINSNS) {
            fail(126, "exec failed: reading the seccomp filter %s: %s", spec.seccomp, program == NULL ? strerror(errno) : "bad size");
        }
        filter.len = (unsigned short)(size / sizeof(struct sock_filter));
        filter.filter = (struct sock_filter *)program;
    }
    int pid_fd = open(pid_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (pid_fd < 0) {
        fail(126, "exec failed: opening %s: %s", pid_path, strerror(errno));
    }
    int console = spec.terminal && console_path != NULL ? connect_console(console_path) : -1;
    if (spec.has_oom) {
        /* Inherited by the child; set here, where /proc is still the host's. */
        int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
        char text[16];
        int length = snprintf(text, sizeof text, "%d", spec.oom);
        if (fd < 0 || write(fd, text, (size_t)length) != length) {
            fail(126, "exec failed: writing oom_score_adj: %s", strerror(errno));
        }
        close(fd);
    }

    /* The pidfd pins the init: once it is checked against the recorded start time, a reused pid cannot fool us. */
    int init = (int)syscall(SYS_pidfd_open, (pid_t)init_pid, 0);
    if (init < 0) {
        fail(126, "exec failed: container init %ld: %s", init_pid, strerror(errno));
    }
    if (start_time((int)init_pid) != init_start) {
        fail(126, "exec failed: container init %ld is gone (its pid was reused)", init_pid);
    }

    /* 3 and 4. The init's cgroups, then its namespaces (the mount namespace sets our root to the container's). */
    join_cgroups((int)init_pid);
    if (setns(init, CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWCGROUP) != 0) {
        fail(126, "exec failed: joining the container's namespaces: %s", strerror(errno));
    }
    close(init);
    if (chdir("/") != 0) {
        fail(126, "exec failed: chdir /: %s", strerror(errno));
    }

    /* 5. A terminal from the container's own devpts (its /dev/ptmx), the slave opened through the master. */
    int slave = -1;
    if (spec.terminal) {
        int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        int unlock = 0;
        if (master < 0 || ioctl(master, TIOCSPTLCK, &unlock) != 0) {
            fail(126, "exec failed: opening /dev/ptmx: %s", strerror(errno));
        }
        slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
        unsigned int number = 0;
        if (slave < 0 || ioctl(master, TIOCGPTN, &number) != 0) {
            fail(126, "exec failed: opening the terminal's slave: %s", strerror(errno));
        }
        char name[64];
        snprintf(name, sizeof name, "/dev/pts/%u", number);
        if (console >= 0) {
            send_master(console, master, name);
            close(console);
        }
        close(master);
    }

    pid_t pid = fork();
    if (pid < 0) {
        fail(126, "exec failed: fork: %s", strerror(errno));
    }
    if (pid == 0) {
        child(&spec, slave, &filter);
    }
    if (slave >= 0) {
        close(slave);
    }
    char text[32];
    int length = snprintf(text, sizeof text, "%d", pid);
    if (write(pid_fd, text, (size_t)length) != length) {
        kill(pid, SIGKILL);
    }
    close(pid_fd);

    /* Relay the process's end as our own exit status (a signal as 128 + its number, as a shell reports it). */
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            return 126;
        }
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
