/* An exec's terminal: a PTY from the container's own devpts, its master sent to the monitor as runc sends it. */
#define _GNU_SOURCE
#include "berth-exec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

/* The monitor's console socket, connected while we are still in the host's mount namespace. */
int connect_console(const char *path)
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

/*
 * Once in the container's mount namespace: a PTY from its /dev/ptmx, the slave opened through the master (never by a
 * path the container could swap), sized ROWS x COLUMNS when given (before the process can look), the master sent to
 * CONSOLE (when >= 0) and closed. Returns the slave.
 */
int open_terminal(int console, unsigned short rows, unsigned short columns)
{
    int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    int unlock = 0;
    if (master < 0 || ioctl(master, TIOCSPTLCK, &unlock) != 0) {
        fail(126, "exec failed: opening /dev/ptmx: %s", strerror(errno));
    }
    int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    unsigned int number = 0;
    if (slave < 0 || ioctl(master, TIOCGPTN, &number) != 0) {
        fail(126, "exec failed: opening the terminal's slave: %s", strerror(errno));
    }
    struct winsize size = {.ws_row = rows, .ws_col = columns};
    if (rows > 0 && columns > 0 && ioctl(master, TIOCSWINSZ, &size) != 0) {
        fail(126, "exec failed: setting the terminal's size: %s", strerror(errno));
    }
    char name[64];
    snprintf(name, sizeof name, "/dev/pts/%u", number);
    if (console >= 0) {
        send_master(console, master, name);
        close(console);
    }
    close(master);
    return slave;
}
