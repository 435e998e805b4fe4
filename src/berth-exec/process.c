/* The exec'd process, in berth-exec's child: terminal, limits, user, capabilities, no_new_privs, seccomp, then exec. */
#define _GNU_SOURCE
#include "berth-exec.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

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
void run_process(struct spec *spec, int slave, const struct sock_fprog *filter)
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
