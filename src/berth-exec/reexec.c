/*
 * CVE-2019-5736 class, the part non-dumpable does not cover. Between our fork and its execve, our child is in the
 * container's pid namespace with berth-exec as its /proc/PID/exe; a container process holding CAP_SYS_PTRACE
 * (--cap-add SYS_PTRACE, --privileged) may open that exe, and once no berth-exec runs from the file any more (it is no
 * longer busy) write the host's binary through the descriptor it kept. So berth-exec never runs from its file: it
 * copies itself into a memfd, seals the copy against any change and re-executes from it. The exe a container can reach
 * is then that copy, which no one can write, and which is gone with the last process running it. (runc does the same,
 * or binds its binary read-only.) The monitor spawns us from such a copy already (SealedExecutable), which saves the
 * copy and the second execve here; run any other way (by hand, bench/exec-bench.sh), we make it ourselves.
 */
#define _GNU_SOURCE
#include "berth-exec.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

/* No write, no resize, and no way to lift either. */
#define COPY_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

/* Returns only when we already run from a sealed memfd; otherwise re-executes from one (or fails). */
void run_from_sealed_copy(char **argv, char **envp)
{
    int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (self < 0) {
        fail(126, "exec failed: opening /proc/self/exe: %s", strerror(errno));
    }
    /* F_GET_SEALS fails (EINVAL) on a file that is not a memfd: the installed binary. */
    int seals = fcntl(self, F_GET_SEALS);
    if (seals >= 0 && (seals & COPY_SEALS) == COPY_SEALS) {
        close(self);
        /* An exec from a descriptor names the process after its number: keep the name ps and top show. */
        prctl(PR_SET_NAME, "berth-exec", 0, 0, 0);
        return;
    }
    struct stat status;
    if (fstat(self, &status) != 0) {
        fail(126, "exec failed: stat /proc/self/exe: %s", strerror(errno));
    }
    /* MFD_EXEC says the copy is meant to run (vm.memfd_noexec, Linux 6.3+); older kernels refuse the flag. */
    int copy = memfd_create("berth-exec", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
    if (copy < 0 && errno == EINVAL) {
        copy = memfd_create("berth-exec", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    }
    if (copy < 0) {
        fail(126, "exec failed: memfd_create for a sealed copy of berth-exec: %s", strerror(errno));
    }
    for (off_t left = status.st_size; left > 0;) {
        ssize_t copied = sendfile(copy, self, NULL, (size_t)left);
        if (copied < 0 && errno == EINTR) {
            continue;
        }
        if (copied <= 0) {
            fail(126, "exec failed: copying berth-exec into a memfd: %s", copied < 0 ? strerror(errno) : "short copy");
        }
        left -= copied;
    }
    close(self);
    if (fcntl(copy, F_ADD_SEALS, COPY_SEALS) != 0) {
        fail(126, "exec failed: sealing the copy of berth-exec: %s", strerror(errno));
    }
    /* The copy is close-on-exec, so it is not left open in the new image (a static ELF needs no path to itself). */
    fexecve(copy, argv, envp);
    fail(126, "exec failed: running the sealed copy of berth-exec: %s", strerror(errno));
}
