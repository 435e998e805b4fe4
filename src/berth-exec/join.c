/* Joining the container: its init (pinned by a pidfd), the init's cgroups, then its namespaces. */
#define _GNU_SOURCE
#include "berth-exec.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

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

/* A pidfd on the container's init: once it is checked against the recorded start time, a reused pid cannot fool us. */
int open_init(long pid, unsigned long long start)
{
    int init = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
    if (init < 0) {
        fail(126, "exec failed: container init %ld: %s", pid, strerror(errno));
    }
    if (start_time((int)pid) != start) {
        fail(126, "exec failed: container init %ld is gone (its pid was reused)", pid);
    }
    return init;
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
void join_cgroups(int pid)
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

/* The init's ipc, uts, net, pid, mount and cgroup namespaces with one setns on its pidfd (the mount one sets our root). */
void join_namespaces(int init)
{
    if (setns(init, CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWCGROUP) != 0) {
        fail(126, "exec failed: joining the container's namespaces: %s", strerror(errno));
    }
    close(init);
    if (chdir("/") != 0) {
        fail(126, "exec failed: chdir /: %s", strerror(errno));
    }
}
