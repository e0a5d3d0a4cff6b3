/* The attacker of race.py: PATH becomes a symbolic link to VICTIM (atomically,
   by rename over whatever is there, a freshly bound socket included), then
   disappears so that the next bind can succeed; over and over, as fast as it
   can, until STOP-FILE exists or SECONDS have passed.
   Usage: swapper PATH VICTIM STOP-FILE SECONDS */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char** argv) {
    if (argc != 5) {
        fputs("usage: swapper PATH VICTIM STOP-FILE SECONDS\n", stderr);
        return 2;
    }
    const char* path = argv[1];
    const char* victim = argv[2];
    const char* stop_file = argv[3];
    time_t deadline = time(NULL) + atol(argv[4]);
    char temporary[4096];
    snprintf(temporary, sizeof temporary, "%s.swap", path);
    for (unsigned long round = 1;; ++round) {
        if (round % 4096 == 0 && (access(stop_file, F_OK) == 0 || time(NULL) > deadline)) return 0;
        symlink(victim, temporary);
        rename(temporary, path);
        unlink(path);
    }
}
