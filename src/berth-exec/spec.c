/* The exec spec berthd writes (NativeExecSpec): NUL-terminated "key value" records; and the seccomp program it names. */
#define _GNU_SOURCE
#include "berth-exec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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

void parse_spec(char *data, size_t size, struct spec *spec)
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
        } else if (strcmp(record, "group") == 0 && spec->ngroups < MAX_GROUPS) {
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
        } else if (strcmp(record, "winsize") == 0) {
            char *columns = strchr(value, ' ');
            if (columns == NULL) {
                fail(126, "exec failed: bad winsize in the exec spec");
            }
            spec->rows = (unsigned short)number(value, 10, "winsize");
            spec->columns = (unsigned short)number(columns + 1, 10, "winsize");
        } else {
            fail(126, "exec failed: unknown exec spec record '%s'", record);
        }
    }
    if (spec->nargs == 0) {
        fail(126, "exec failed: no command in the exec spec");
    }
}

/* The compiled filter (struct sock_filter[], STATE/seccomp.bpf), read while we are still on the host. */
void read_seccomp_program(const char *path, struct sock_fprog *program)
{
    size_t size;
    char *instructions = read_file(path, &size);
    if (instructions == NULL || size == 0 || size % sizeof(struct sock_filter) != 0 || size / sizeof(struct sock_filter) > BPF_MAXINSNS) {
        fail(126, "exec failed: reading the seccomp filter %s: %s", path, instructions == NULL ? strerror(errno) : "bad size");
    }
    program->len = (unsigned short)(size / sizeof(struct sock_filter));
    program->filter = (struct sock_filter *)instructions;
}
