// relevo-task-supervisor PARENT_PID PATH ARGV0 [ARG...]
// relevo-task-supervisor --watch
//
// Runs one task for relevo-worker and ends it if the worker dies. The worker starts this program
// as the leader of a new session and process group; the task runs in that same group. When the
// task ends, this program ends the same way (its exit code, or the same signal), so the worker
// sees the task's own status. When the worker is gone (killed, even with SIGKILL), the whole
// group is killed: a task never outlives its worker, so a `serial` job cannot keep running on a
// dead worker while the broker hands it to another one.
//
// Parent death is noticed at once through PR_SET_PDEATHSIG (delivered as SIGUSR1, then checked
// with getppid(): the kernel also sends it when the worker *thread* that spawned us ends, which
// is not a death), and at the latest within a second by polling getppid(). SIGTERM and SIGINT
// are ignored here so that a cancel (sent to the whole group) is handled by the task, whose
// status this program then reports.
//
// With --watch it is the worker's one watchdog for its ordinary tasks (which run without this
// program in between, to save its start-up per task): it reads lines `+PGID` (a task's process
// group started) and `-PGID` (it ended) on stdin, a pipe whose only writer is the worker. When
// the worker is gone, however it died, the kernel closes that pipe: at end of file every group
// still listed is killed. Signals that would stop it are ignored; only end of file ends it.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void kill_group_and_exit(void) {
    kill(0, SIGKILL);
    _exit(137);
}

static int watch(void) {
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    pid_t *groups = NULL;
    size_t count = 0, capacity = 0;
    char line[64];
    while (fgets(line, sizeof line, stdin) != NULL) {
        long group = strtol(line + 1, NULL, 10);
        if (group <= 1) continue;
        if (line[0] == '+') {
            if (count == capacity) {
                size_t larger = capacity ? capacity * 2 : 64;
                pid_t *grown = realloc(groups, larger * sizeof *groups);
                if (grown == NULL) continue;
                groups = grown;
                capacity = larger;
            }
            groups[count++] = (pid_t)group;
        } else if (line[0] == '-') {
            for (size_t i = 0; i < count; i++) {
                if (groups[i] == (pid_t)group) {
                    groups[i] = groups[--count];
                    break;
                }
            }
        }
    }
    for (size_t i = 0; i < count; i++) kill(-groups[i], SIGKILL);
    free(groups);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "--watch") == 0) return watch();
    if (argc < 4) {
        fprintf(stderr, "usage: relevo-task-supervisor PARENT_PID PATH ARGV0 [ARG...] | --watch\n");
        return 125;
    }
    pid_t parent = (pid_t)strtol(argv[1], NULL, 10);

    sigset_t waited;
    sigemptyset(&waited);
    sigaddset(&waited, SIGCHLD);
    sigaddset(&waited, SIGUSR1);
    sigprocmask(SIG_BLOCK, &waited, NULL);
    prctl(PR_SET_PDEATHSIG, SIGUSR1);
    if (getppid() != parent) kill_group_and_exit();  // the worker died before we got here
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);

    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setsigdefault(&attributes, &all);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t child;
    int code = posix_spawn(&child, argv[2], NULL, &attributes, &argv[3], environ);
    posix_spawnattr_destroy(&attributes);
    if (code != 0) {
        fprintf(stderr, "cannot run '%s': %s\n", argv[2], strerror(code));
        return code == ENOENT ? 127 : 126;
    }

    for (;;) {
        struct timespec second = {1, 0};
        sigtimedwait(&waited, NULL, &second);
        int status;
        pid_t ended;
        while ((ended = waitpid(child, &status, WNOHANG)) == -1 && errno == EINTR) {}
        if (ended == child) {
            if (WIFEXITED(status)) return WEXITSTATUS(status);
            if (WIFSIGNALED(status)) {
                int sig = WTERMSIG(status);
                signal(sig, SIG_DFL);
                sigset_t just;
                sigemptyset(&just);
                sigaddset(&just, sig);
                sigprocmask(SIG_UNBLOCK, &just, NULL);
                raise(sig);
                return 128 + sig;
            }
        }
        if (getppid() != parent) kill_group_and_exit();
    }
}
