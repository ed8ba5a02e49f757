#ifndef C_PROCESS_SHIM_H
#define C_PROCESS_SHIM_H

// Shims for the process runner (Shared/Process): glibc's GNU-only posix_spawn extensions and the
// wait-status macros, which Swift's Glibc module does not import. Prefixed, static inline, and
// never part of Relevo's public API.

#include <fcntl.h>
#include <malloc.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

// Declared here because glibc's headers hide them unless _GNU_SOURCE was defined before the
// system module was built. addchdir_np needs glibc >= 2.29, addclosefrom_np glibc >= 2.34.
extern int posix_spawn_file_actions_addchdir_np(posix_spawn_file_actions_t *__restrict actions,
                                                const char *__restrict path);
extern int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int from);
extern int pipe2(int fds[2], int flags);

/// Fixes glibc's mmap threshold at `bytes` (which also stops glibc from raising it by itself):
/// every allocation at least that large is an mmap of its own, returned to the system on free.
static inline int CProcessShim_fixMmapThreshold(int bytes) {
    return mallopt(M_MMAP_THRESHOLD, bytes);
}

/// posix_spawnattr flag that makes the child call setsid(): its own session and process group.
static inline short CProcessShim_spawnSetsidFlag(void) {
#ifdef POSIX_SPAWN_SETSID
    return POSIX_SPAWN_SETSID;
#else
    return 0x80; // glibc's value since 2.26; stable ABI
#endif
}

/// Adds a chdir(path) to the spawn file actions, run in the child before exec.
static inline int CProcessShim_addChdir(posix_spawn_file_actions_t *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np(actions, path);
}

/// Adds a close of every descriptor from `from` up, so that no stray descriptor of ours (opened
/// without FD_CLOEXEC by some library) leaks into the child.
static inline int CProcessShim_addCloseFrom(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}

/// pipe2(fds, O_CLOEXEC): both ends close on exec from the start, so a process spawned
/// concurrently by another thread never inherits them.
static inline int CProcessShim_pipeCloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

static inline int CProcessShim_exited(int status) { return WIFEXITED(status); }
static inline int CProcessShim_exitStatus(int status) { return WEXITSTATUS(status); }
static inline int CProcessShim_signaled(int status) { return WIFSIGNALED(status); }
static inline int CProcessShim_termSignal(int status) { return WTERMSIG(status); }

#endif
