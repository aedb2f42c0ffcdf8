/*
 * Mount points' parents: the stage makes the parents of a volume's or --tmpfs's mount point
 * (/mnt/vol for -v X:/mnt/vol/data) in the upper; their content lives on the mounts, so the copy
 * holds them empty. Each ancestor of an excluded path, deepest first, that is an empty directory in
 * the copy and that no layer has, is removed.
 *
 * The copy is the workload's tree: it may hold a symlink where such a parent was (mv /mnt /old;
 * ln -s /host/dir /mnt), and a path through it would lead to the host's /host/dir, which the
 * copier runs as host root to see (issue 19, finding 8: commit removed a host directory that way).
 * So nothing here follows a symlink: the parent directory is opened beneath DST with openat2(2)
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS (any symlink on the way: ELOOP, nothing removed), and the
 * last component is removed with unlinkat(2) AT_REMOVEDIR, which never follows it (a symlink there
 * gives ENOTDIR). The layers are looked up the same way: overlayfs itself never follows a layer's
 * symlink while it looks a path up (a symlink is a non-directory that ends the lookup).
 */
#include "commit.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define BENEATH (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)

/* openat2(2) (glibc has no wrapper) of rel beneath dirfd, no symlink followed. */
static int open_beneath(int dirfd, const char *rel, int flags)
{
	struct open_how how = { .flags = (unsigned long long)(flags | O_CLOEXEC), .resolve = BENEATH };

	return (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof how);
}

/* True when some layer has rel (looked up as overlayfs would: no symlink followed). */
static bool in_a_layer(const int *layer_fds, size_t n_layers, const char *rel)
{
	for (size_t i = 0; i < n_layers; i++) {
		int fd = open_beneath(layer_fds[i], rel, O_PATH);

		if (fd >= 0) {
			close(fd);
			return true;
		}
		if (errno != ENOENT && errno != ENOTDIR && errno != ELOOP && errno != EXDEV)
			fail("openat2", "layer %zu, %s, RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS", i, rel);
	}
	return false;
}

void prune_mount_parents(const char *dst, char *const *excludes, size_t n_excludes, char *const *layers, size_t n_layers)
{
	int root = open(dst, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int *layer_fds = calloc(n_layers + 1, sizeof *layer_fds);

	if (root < 0)
		fail("open", "%s", dst);
	if (layer_fds == NULL)
		fail("calloc", "%zu", n_layers);
	for (size_t i = 0; i < n_layers; i++) {
		layer_fds[i] = open(layers[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (layer_fds[i] < 0)
			fail("open", "%s", layers[i]);
	}
	for (size_t i = 0; i < n_excludes; i++) {
		char *rel = strdup(excludes[i]);
		char *slash;

		if (rel == NULL)
			fail("strdup", "%s", excludes[i]);
		/* rel becomes each ancestor in turn: "a/b/c" -> "a/b" -> "a". */
		while ((slash = strrchr(rel, '/')) != NULL) {
			const char *name;
			int parent, gone;

			*slash = '\0';
			if (rel[0] == '\0' || in_a_layer(layer_fds, n_layers, rel))
				break;
			slash = strrchr(rel, '/');
			if (slash == NULL) {
				parent = open_beneath(root, ".", O_PATH | O_DIRECTORY);
				name = rel;
			} else {
				*slash = '\0';
				parent = open_beneath(root, rel, O_PATH | O_DIRECTORY);
				*slash = '/';
				name = slash + 1;
			}
			if (parent < 0 && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP || errno == EXDEV))
				break; /* not a real directory on the way (a symlink): nothing to prune */
			if (parent < 0)
				fail("openat2", "%s/%s, RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS", dst, rel);
			gone = unlinkat(parent, name, AT_REMOVEDIR);
			if (gone != 0 && errno != ENOTEMPTY && errno != EEXIST && errno != ENOTDIR && errno != ENOENT)
				fail("unlinkat", "%s/%s, AT_REMOVEDIR", dst, rel);
			close(parent);
			if (gone != 0)
				break; /* not empty, a symlink or a file: it stays, and so do its ancestors */
		}
		free(rel);
	}
	for (size_t i = 0; i < n_layers; i++)
		close(layer_fds[i]);
	free(layer_fds);
	close(root);
}
