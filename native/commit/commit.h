/*
 * sandbox-commit: copies a sandbox's overlayfs upper directory into a new layer directory, with
 * everything overlayfs and the files' owners need kept as it was.
 *
 *   sandbox-commit SRC DST [--exclude REL]... [--layer DIR]...
 *
 * SRC   the upper directory: a path, or /proc/<pid>/fd/<n> of a descriptor PID 1 of the sandbox
 *       holds on it (the magic link resolves to the directory even when no path leads to it).
 * DST   a path that must not exist yet: created (mode 0700 until the end), filled, then given the
 *       upper root's owner, mode, xattrs and times.
 * --exclude REL   (repeatable) a path relative to SRC, without a leading '/', that is not copied,
 *       nor anything beneath it (the sandbox's mount points: /etc/hosts, volumes, ...); its
 *       ancestors that end up empty in DST and are in no --layer are removed (prune.c).
 * --layer DIR     (repeatable) an absolute path: a layer below the upper.
 * --shift UID:GID:COUNT  the sandbox ran in a user namespace: its host ids are stored 0-based (shift.c).
 *
 * Exit 0, or one line on stderr (sandbox: commit: CALL(PATH): strerror (errno N)) and 125. What a
 * failed run wrote under DST is left to the caller to remove.
 *
 * Files, one concern each: main.c (arguments, the walk), file.c (regular files, sparse-aware),
 * meta.c (owner, mode, xattrs, times), shift.c (host ids to 0-based), prune.c (empty parents of mount points), fail.c (the
 * error line). No path in SRC or DST is followed through a symlink the workload made.
 */
#ifndef SANDBOX_COMMIT_H
#define SANDBOX_COMMIT_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* fail.c: report a failed call (errno) on one line and exit 125. */
void fail(const char *call, const char *pathfmt, ...) __attribute__((noreturn, format(printf, 2, 3)));

/* file.c: copy a regular file's bytes from src (relative to the cwd) to a new file dst, keeping
 * its holes; dst is created with O_EXCL, mode 0600 (meta.c sets the real one). */
void copy_file_data(const char *src, const char *dst, const struct stat *st);

/* meta.c: give dst the owner, mode (not for symlinks), xattrs and times of src (lstat st). */
void copy_metadata(const char *src, const char *dst, const struct stat *st);

/* shift.c: --shift UID:GID:COUNT (false if malformed); then ids and id-bearing xattr values
 * (returns the new size) from host to 0-based. */
bool parse_shift(const char *value);
unsigned shift_uid(unsigned uid);
unsigned shift_gid(unsigned gid);
size_t shift_xattr(const char *name, char *value, size_t size);

/* prune.c: remove the empty parents of the excluded paths from dst that no layer has, never
 * following a symlink (the copy is the workload's tree). */
void prune_mount_parents(const char *dst, char *const *excludes, size_t n_excludes, char *const *layers, size_t n_layers);

#endif
