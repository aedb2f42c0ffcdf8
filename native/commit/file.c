/* Regular files: the data extents only. lseek(2) SEEK_DATA/SEEK_HOLE name the allocated ranges
 * (tmpfs, ext4, xfs, btrfs implement them; others report the whole file as data), so a sparse file
 * stays sparse: the holes are never written, and ftruncate(2) gives the copy its full size. */
#include "commit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

enum { CHUNK = 1 << 20 };

/* Copy [from, to) of in to the same offsets of out. */
static void copy_range(int in, int out, off_t from, off_t to, char *buf, const char *src, const char *dst)
{
	while (from < to) {
		size_t want = (size_t)(to - from) < CHUNK ? (size_t)(to - from) : CHUNK;
		ssize_t got = pread(in, buf, want, from);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			fail("pread", "%s", src);
		if (got == 0)
			return; /* shorter than its extents said: ftruncate sets the size */
		for (ssize_t done = 0; done < got;) {
			ssize_t put = pwrite(out, buf + done, (size_t)(got - done), from + done);

			if (put < 0 && errno == EINTR)
				continue;
			if (put <= 0)
				fail("pwrite", "%s", dst);
			done += put;
		}
		from += got;
	}
}

void copy_file_data(const char *src, const char *dst, const struct stat *st)
{
	int in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int out;
	char *buf;
	off_t pos = 0;

	if (in < 0)
		fail("open", "%s", src);
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0)
		fail("open", "%s", dst);
	buf = malloc(CHUNK);
	if (buf == NULL)
		fail("malloc", "%d", CHUNK);
	while (pos < st->st_size) {
		off_t data = lseek(in, pos, SEEK_DATA), hole;

		if (data < 0 && errno == ENXIO)
			break; /* only a hole is left */
		if (data < 0 && errno == EINVAL) {
			copy_range(in, out, pos, st->st_size, buf, src, dst); /* no SEEK_DATA here: all data */
			break;
		}
		if (data < 0)
			fail("lseek", "%s, SEEK_DATA %lld", src, (long long)pos);
		hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0)
			fail("lseek", "%s, SEEK_HOLE %lld", src, (long long)data);
		copy_range(in, out, data, hole, buf, src, dst);
		pos = hole;
	}
	if (ftruncate(out, st->st_size) != 0)
		fail("ftruncate", "%s, %lld", dst, (long long)st->st_size);
	free(buf);
	close(in);
	if (close(out) != 0)
		fail("close", "%s", dst);
}
