/*
 * berth-init: the process `run --init` puts at PID 1 of a container (mounted at /sbin/docker-init, where
 * Docker puts its own). PID 1 has two duties no ordinary program does: reap every orphan that the kernel
 * re-parents to it (or they stay zombies), and pass on the signals sent to the container (PID 1 has no default
 * signal actions, so without a handler `docker stop` would have to wait for SIGKILL).
 *
 * usage: berth-init [--] COMMAND [ARG...]
 * It runs COMMAND as its child, forwards every catchable signal to it, reaps all children, and exits with
 * COMMAND's status (128 + signal number when a signal ended it), as tini does for Docker.
 *
 * Static and libc-only, so it runs in any image, busybox included.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* Signals that report on the init itself or its terminal rather than being meant for the command. */
static int is_local_signal(int sig)
{
    return sig == SIGCHLD || sig == SIGTTIN || sig == SIGTTOU || sig == SIGFPE || sig == SIGILL ||
           sig == SIGSEGV || sig == SIGBUS || sig == SIGABRT || sig == SIGTRAP || sig == SIGSYS;
}

int main(int argc, char **argv)
{
    int first = 1;
    if (argc > 1 && strcmp(argv[1], "--") == 0) {
        first = 2;
    }
    if (first >= argc) {
        fprintf(stderr, "usage: %s [--] COMMAND [ARG...]\n", argv[0]);
        return 2;
    }

    /* Every signal is taken synchronously with sigtimedwait: no handler can race the reaping loop. */
    sigset_t all, original;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &original);

    pid_t child = fork();
    if (child < 0) {
        perror("berth-init: fork");
        return 1;
    }
    if (child == 0) {
        sigprocmask(SIG_SETMASK, &original, NULL);
        execvp(argv[first], &argv[first]);
        fprintf(stderr, "berth-init: exec %s: %s\n", argv[first], strerror(errno));
        _exit(errno == ENOENT ? 127 : 126);
    }

    /* Outside a PID namespace, orphans of the command still come to us. */
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

    int exit_code = -1;
    for (;;) {
        struct timespec tick = { .tv_sec = 1, .tv_nsec = 0 };
        int sig = sigtimedwait(&all, NULL, &tick);
        if (sig > 0 && !is_local_signal(sig)) {
            kill(child, sig);
        }

        /* Reap whatever has ended (SIGCHLD coalesces, and the timeout covers a missed one). */
        for (;;) {
            int status;
            pid_t pid = waitpid(-1, &status, WNOHANG);
            if (pid <= 0) {
                break;
            }
            if (pid == child) {
                exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            }
        }

        if (exit_code >= 0) {
            return exit_code;
        }
    }
}
