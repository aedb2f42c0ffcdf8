/*
 * sandbox-commit SRC DST [--exclude REL]... [--layer DIR]... [--shift UID:GID:COUNT] (the
 * contract is in commit.h). Walks SRC depth first:
 * directories are made before their entries and get their metadata after them; regular files are
 * copied with their holes (file.c); symlinks keep their target; device nodes keep their numbers,
 * so overlayfs whiteouts (character devices 0/0, Documentation/filesystems/overlayfs.rst
 * "whiteouts and opaque directories") stay whiteouts; FIFOs and sockets are made with mknod(2). A
 * non-directory with more than one link is linked (link(2)) to its first copy, so hard links stay
 * one inode (overlayfs itself links its whiteouts to one shared inode: fs/overlayfs/dir.c
 * ovl_whiteout).
 */
#include "commit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* The first copy of an inode with several links. */
struct link_seen {
	dev_t dev;
	ino_t ino;
	char *dst;
};

static const char *dst_root;
static char **excludes, **layers;
static size_t n_excludes, n_layers;
static struct link_seen *links;
static size_t n_links, links_cap;

/* "a/b" joined, or "b" when a is "." (source paths are relative to SRC, the cwd). */
static char *join(const char *a, const char *b)
{
	char *out;

	if (asprintf(&out, "%s/%s", a, b) < 0)
		fail("asprintf", "%s/%s", a, b);
	if (strncmp(out, "./", 2) == 0)
		memmove(out, out + 2, strlen(out + 2) + 1);
	return out;
}

static bool excluded(const char *rel)
{
	for (size_t i = 0; i < n_excludes; i++)
		if (strcmp(rel, excludes[i]) == 0)
			return true;
	return false;
}

/* The first copy of st's inode if it was copied already; else remember dst as it. */
static const char *seen_link(const struct stat *st, const char *dst)
{
	for (size_t i = 0; i < n_links; i++)
		if (links[i].dev == st->st_dev && links[i].ino == st->st_ino)
			return links[i].dst;
	if (n_links == links_cap) {
		links_cap = links_cap == 0 ? 64 : links_cap * 2;
		links = realloc(links, links_cap * sizeof *links);
		if (links == NULL)
			fail("realloc", "%zu links", links_cap);
	}
	links[n_links].dev = st->st_dev;
	links[n_links].ino = st->st_ino;
	links[n_links].dst = strdup(dst);
	if (links[n_links].dst == NULL)
		fail("strdup", "%s", dst);
	n_links++;
	return NULL;
}

static void copy_tree(const char *rel, const char *dst);

/* Copy one entry (not the root) of SRC. */
static void copy_entry(const char *rel, const char *dst)
{
	struct stat st;

	if (lstat(rel, &st) != 0)
		fail("lstat", "%s", rel);
	if (S_ISDIR(st.st_mode)) {
		if (mkdir(dst, 0700) != 0)
			fail("mkdir", "%s", dst);
		copy_tree(rel, dst);
		copy_metadata(rel, dst, &st);
		return;
	}
	if (st.st_nlink > 1) {
		const char *first = seen_link(&st, dst);

		if (first != NULL) {
			if (link(first, dst) != 0)
				fail("link", "%s, %s", first, dst);
			return; /* one inode: its metadata came with the first copy */
		}
	}
	if (S_ISREG(st.st_mode)) {
		copy_file_data(rel, dst, &st);
	} else if (S_ISLNK(st.st_mode)) {
		char *target = malloc((size_t)st.st_size + 1);
		ssize_t n;

		if (target == NULL)
			fail("malloc", "%lld", (long long)st.st_size + 1);
		n = readlink(rel, target, (size_t)st.st_size + 1);
		if (n < 0 || n > st.st_size)
			fail("readlink", "%s", rel);
		target[n] = '\0';
		if (symlink(target, dst) != 0)
			fail("symlink", "%s, %s", target, dst);
		free(target);
	} else if (mknod(dst, (st.st_mode & S_IFMT) | 0600, st.st_rdev) != 0) {
		fail("mknod", "%s, %o, %u:%u", dst, (unsigned)(st.st_mode & S_IFMT), major(st.st_rdev), minor(st.st_rdev));
	}
	copy_metadata(rel, dst, &st);
}

/* Copy the entries of directory rel into the existing directory dst, by name order of readdir. */
static void copy_tree(const char *rel, const char *dst)
{
	/* O_NOFOLLOW: rel was lstat()ed a directory and the sandbox is frozen, but a symlink in the
	 * workload's tree is never followed out of it. */
	int fd = open(rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *dir = fd < 0 ? NULL : fdopendir(fd);
	struct dirent *ent;

	if (dir == NULL)
		fail("opendir", "%s", rel);
	for (errno = 0; (ent = readdir(dir)) != NULL; errno = 0) {
		char *child, *child_dst;

		if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0)
			continue;
		child = join(rel, ent->d_name);
		if (!excluded(child)) {
			child_dst = join(dst, ent->d_name);
			copy_entry(child, child_dst);
			free(child_dst);
		}
		free(child);
	}
	if (errno != 0)
		fail("readdir", "%s", rel);
	closedir(dir);
}

int main(int argc, char **argv)
{
	const char *src;
	struct stat st;
	int fd;

	if (argc < 3) {
		fprintf(stderr, "usage: sandbox-commit SRC DST [--exclude REL]... [--layer DIR]... [--shift UID:GID:COUNT]\n");
		return 125;
	}
	src = argv[1];
	dst_root = argv[2];
	excludes = calloc((size_t)argc, sizeof *excludes);
	layers = calloc((size_t)argc, sizeof *layers);
	if (excludes == NULL || layers == NULL)
		fail("calloc", "%d", argc);
	for (int i = 3; i < argc; i += 2) {
		bool exclude = strcmp(argv[i], "--exclude") == 0, layer = strcmp(argv[i], "--layer") == 0;

		if (strcmp(argv[i], "--shift") == 0 && i + 1 < argc) {
			if (!parse_shift(argv[i + 1])) {
				fprintf(stderr, "sandbox: commit: bad --shift \"%s\" (expected UID:GID:COUNT, neither id 0)\n", argv[i + 1]);
				return 125;
			}
			continue;
		}
		if ((!exclude && !layer) || i + 1 >= argc || (exclude && argv[i + 1][0] == '/') || (layer && argv[i + 1][0] != '/') || argv[i + 1][0] == '\0') {
			fprintf(stderr, "sandbox: commit: bad argument \"%s\" (expected --exclude RELATIVE-PATH or --layer ABSOLUTE-PATH)\n", argv[i]);
			return 125;
		}
		if (exclude)
			excludes[n_excludes++] = argv[i + 1];
		else
			layers[n_layers++] = argv[i + 1];
	}
	/* open(2) follows the /proc/<pid>/fd/<n> magic link to the directory itself (proc(5)). */
	fd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		fail("open", "%s", src);
	if (fchdir(fd) != 0)
		fail("fchdir", "%s", src);
	close(fd);
	if (lstat(".", &st) != 0)
		fail("lstat", "%s", src);
	if (mkdir(dst_root, 0700) != 0)
		fail("mkdir", "%s", dst_root);
	copy_tree(".", dst_root);
	prune_mount_parents(dst_root, excludes, n_excludes, layers, n_layers);
	copy_metadata(".", dst_root, &st);
	return 0;
}
