/*
 * berth-exec's shared declarations. What the program does, and in which order, is told in main.c; each file holds one
 * concern: reexec.c (running from a sealed copy of itself), spec.c (the spec berthd wrote), join.c (the container's
 * init, cgroups and namespaces), terminal.c (the PTY and the console socket), process.c (the exec'd process's set-up).
 */
#ifndef BERTH_EXEC_H
#define BERTH_EXEC_H

#include <linux/filter.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#define MAX_ITEMS 4096
#define MAX_RLIMITS 32
#define MAX_GROUPS 256

/* What to run and how, from the spec's records (see spec.c). */
struct spec {
    char *args[MAX_ITEMS + 1];
    int nargs;
    char *env[MAX_ITEMS + 1];
    int nenv;
    const char *cwd;
    uid_t uid;
    gid_t gid;
    gid_t groups[MAX_GROUPS];
    int ngroups;
    uint64_t capb, cape, capp, capi, capa;
    struct { int resource; struct rlimit limit; } rlimits[MAX_RLIMITS];
    int nrlimits;
    int nnp;
    int has_oom;
    int oom;
    const char *seccomp;
    int terminal;
    unsigned short rows, columns; /* the terminal's size before the process starts; 0 when not given */
};

/* main.c: where a failure is reported (the exec's log once it is open, stderr before). */
extern int log_fd;
/* Writes MESSAGE to the log (what the monitor reports as the runtime's error) and exits with CODE. */
void fail(int code, const char *format, ...) __attribute__((format(printf, 2, 3), noreturn));
/* The whole file, NUL-terminated, or NULL (errno set). */
char *read_file(const char *path, size_t *size);

/* reexec.c */
void run_from_sealed_copy(char **argv, char **envp);

/* spec.c */
void parse_spec(char *data, size_t size, struct spec *spec);
void read_seccomp_program(const char *path, struct sock_fprog *program);

/* join.c */
int open_init(long pid, unsigned long long start);
void join_cgroups(int pid);
void join_namespaces(int init);

/* terminal.c */
int connect_console(const char *path);
int open_terminal(int console, unsigned short rows, unsigned short columns);

/* process.c */
void run_process(struct spec *spec, int slave, const struct sock_fprog *filter) __attribute__((noreturn));

#endif
