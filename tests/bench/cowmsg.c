// SPDX-License-Identifier: GPL-2.0-only
/*
 * cowmsg: send one device-mapper target message and print how long the
 * kernel took, in microseconds (the DM_TARGET_MSG ioctl alone).
 *
 *   cowmsg DEVICE MESSAGE...     prints "<usec>"; exit 1 if the message failed
 *
 * `cowtime dmsetup message` also counts starting dmsetup and libdevmapper,
 * which under TCG costs tens of milliseconds and hides the message itself;
 * this measures what the target does, for dm-thin and cowtree alike.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/dm-ioctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE 16384

int main(int argc, char **argv)
{
	struct dm_target_msg *msg;
	struct timespec a, b;
	struct dm_ioctl *io;
	size_t len = 0;
	char *p;
	int fd, i, r;

	if (argc < 3) {
		fprintf(stderr, "usage: cowmsg DEVICE MESSAGE...\n");
		return 2;
	}
	io = calloc(1, BUF_SIZE);
	if (!io)
		return 2;
	io->version[0] = DM_VERSION_MAJOR;
	io->version[1] = 0;
	io->version[2] = 0;
	io->data_size = BUF_SIZE;
	io->data_start = sizeof(*io);
	snprintf(io->name, sizeof(io->name), "%s", argv[1]);
	msg = (struct dm_target_msg *)((char *)io + io->data_start);
	msg->sector = 0;
	p = msg->message;
	for (i = 2; i < argc; i++) {
		size_t n = strlen(argv[i]);

		if (len + n + 2 > BUF_SIZE - sizeof(*io) - sizeof(*msg)) {
			fprintf(stderr, "cowmsg: message too long\n");
			return 2;
		}
		if (i > 2)
			p[len++] = ' ';
		memcpy(p + len, argv[i], n);
		len += n;
	}
	p[len] = '\0';
	fd = open("/dev/mapper/control", O_RDWR);
	if (fd < 0) {
		perror("cowmsg: /dev/mapper/control");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	r = ioctl(fd, DM_TARGET_MSG, io);
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (r) {
		fprintf(stderr, "cowmsg: message to %s failed: %s\n", argv[1],
			strerror(errno));
		return 1;
	}
	printf("%lld\n", (long long)(b.tv_sec - a.tv_sec) * 1000000 +
	       (b.tv_nsec - a.tv_nsec) / 1000);
	close(fd);
	free(io);
	return 0;
}
