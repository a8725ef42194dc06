// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcowctl: recognise a dm-cowtree superblock.  Only the magic and a few
 * fields are looked at; validating the checksum is the kernel's (and
 * 'dmcowctl check's) business.
 */
#include "sb.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "cow-format.h"

#define SB_PROBE_BYTES 4096

int sb_read(int fd, struct sb_summary *s)
{
	/* static: keeps the stack frame small (-Wframe-larger-than). */
	static unsigned char buf[SB_PROBE_BYTES];
	const struct cow_disk_superblock *sb = (const void *)buf;
	ssize_t n;
	size_t i;

	BUILD_BUG_ON(sizeof(*sb) > SB_PROBE_BYTES);
	memset(s, 0, sizeof(*s));
	n = pread(fd, buf, sizeof(buf), 0);
	if (n < 0)
		return -errno;
	if ((size_t)n < sizeof(buf))
		return -ENOSPC;	/* smaller than one metadata block */
	s->zeroed = true;
	for (i = 0; i < sizeof(buf); i++) {
		if (buf[i]) {
			s->zeroed = false;
			break;
		}
	}
	if (le64_to_cpu(sb->magic) != COW_SB_MAGIC)
		return 0;
	s->is_cowtree = true;
	s->chunk_sectors = le32_to_cpu(sb->chunk_sectors);
	s->nr_data_chunks = le64_to_cpu(sb->nr_data_chunks);
	return 0;
}
