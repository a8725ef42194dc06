// SPDX-License-Identifier: GPL-2.0-only
/*
 * cowtime: run a command and print its wall time in microseconds.
 * The guest's busybox cannot time short operations (no %N in date,
 * 10 ms /proc/uptime); benchmarks use this instead.
 *
 *   cowtime CMD [ARGS...]     prints "<usec>" on stdout; exit status of CMD
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct timespec a, b;
	int status;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: cowtime CMD [ARGS...]\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	pid = fork();
	if (pid < 0) {
		perror("cowtime: fork");
		return 2;
	}
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		perror("cowtime: exec");
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0) {
		perror("cowtime: waitpid");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%lld\n", (long long)(b.tv_sec - a.tv_sec) * 1000000 +
	       (b.tv_nsec - a.tv_nsec) / 1000);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
