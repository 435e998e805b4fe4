/*
 * berth-exec: starts a process inside a running container, doing what `runc exec` does without runc's start-up
 * cost (a Go runtime, nsexec's re-exec dance and state loading: 30-48 ms a call here, against about 2 ms for this).
 * The monitor runs it for an exec when berthd wrote a spec for it (the default runc runtime, "exec-path": "native").
 *
 * usage: berth-exec --spec FILE --pid PID --start TICKS --pid-file FILE --log FILE [--console-socket PATH]
 *   --spec            what to run, written by berthd (see docs/architecture.md, "exec"): NUL-terminated records
 *                     "key value"; keys: arg, env, cwd, uid, gid, group, capb/cape/capp/capi/capa (hex masks),
 *                     rlimit "N SOFT HARD", nnp, oom, seccomp (a BPF program file: struct sock_filter[]), terminal,
 *                     winsize "ROWS COLUMNS".
 *   --pid, --start    the container's init and its start time (field 22 of /proc/PID/stat, from runc's state):
 *                     a pidfd taken on PID, then checked against TICKS, guards against a reused pid.
 *   --pid-file        where the host pid of the process goes once it runs.
 *   --log             where a failure to start it is written (one line; the monitor reports it as runc's error).
 *   --console-socket  with a terminal: the PTY master is sent there (SCM_RIGHTS), as runc's --console-socket does.
 * It stays the parent of the process and exits with its status (128 + signal when a signal ended it).
 *
 * Order matters for safety (the same order as runc's):
 *  0. re-executed from a sealed memfd copy of itself (reexec.c; CVE-2019-5736 class: the exe a container process
 *     could reach through /proc/PID/exe of our child is never the host's file).
 *  1. non-dumpable (a container process without CAP_SYS_PTRACE may not open /proc/<us>/exe or ptrace us), and
 *     every descriptor beyond stdio closed (CVE-2024-21626 class); all we open is O_CLOEXEC.
 *  2. host-side files (spec, BPF, pid file, log, console socket, pidfd) are opened before any namespace is joined;
 *     the cwd is only ever changed after joining the container's mount namespace.
 *  3. the container init's cgroups (every v1 hierarchy and the v2 one) are joined by writing our pid to cgroup.procs.
 *  4. its namespaces through the pidfd (setns on a pidfd, Linux 5.8+): ipc, uts, net, pid, mnt, cgroup at once.
 *  5. fork (a pid namespace applies to children); the child sets up its terminal, user, capabilities, rlimits, no_new_privs,
 *     cwd, then loads the seccomp filter and execs (process.c). AppArmor and SELinux are not in use on Berth (no profile
 *     is ever set in the container's spec), so there is no label to apply here.
 */
#define _GNU_SOURCE
#include "berth-exec.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int log_fd = -1;

void fail(int code, const char *format, ...)
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

char *read_file(const char *path, size_t *size)
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

int main(int argc, char **argv, char **envp)
{
    /* 0. Never run from the host's file: what a container might reach through /proc is a copy nothing can write. */
    run_from_sealed_copy(argv, envp);

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
    /* Zero-initialized (in .bss, not 67 KB of .data in the file that reexec.c copies at every start). */
    static struct spec spec;
    spec.cwd = "/";
    parse_spec(spec_data, spec_size, &spec);
    struct sock_fprog filter = {0};
    if (spec.seccomp != NULL) {
        read_seccomp_program(spec.seccomp, &filter);
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
    int init = open_init(init_pid, init_start);

    /* 3 and 4. The init's cgroups, then its namespaces (the mount namespace sets our root to the container's). */
    join_cgroups((int)init_pid);
    join_namespaces(init);

    /* 5. A terminal from the container's own devpts; then the process, our child. */
    int slave = spec.terminal ? open_terminal(console, spec.rows, spec.columns) : -1;
    pid_t pid = fork();
    if (pid < 0) {
        fail(126, "exec failed: fork: %s", strerror(errno));
    }
    if (pid == 0) {
        run_process(&spec, slave, &filter);
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
