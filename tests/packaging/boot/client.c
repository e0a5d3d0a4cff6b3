/* The boot test's client: connect to the AF_UNIX stream socket argv[1], send
 * standard input, half-close, and copy the reply to standard output. Built
 * static, it runs in the test's initramfs next to busybox. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int copy(int from, int to) {
    char buffer[4096];
    for (;;) {
        ssize_t n = read(from, buffer, sizeof buffer);
        if (n == 0) return 0;
        if (n < 0) return -1;
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(to, buffer + done, (size_t)(n - done));
            if (w < 0) return -1;
            done += w;
        }
    }
}

int main(int argc, char **argv) {
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    if (argc != 2 || strlen(argv[1]) >= sizeof address.sun_path) {
        fprintf(stderr, "usage: client SOCKET-PATH\n");
        return 100;
    }
    strcpy(address.sun_path, argv[1]);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&address, sizeof address) < 0) {
        perror(argv[1]);
        return 111;
    }
    if (copy(0, fd) < 0 || shutdown(fd, SHUT_WR) < 0 || copy(fd, 1) < 0) {
        perror("client");
        return 111;
    }
    return 0;
}
