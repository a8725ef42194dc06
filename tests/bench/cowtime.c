// SPDX-License-Identifier: GPL-2.0-only
/*
 * cowtime: run a command and print its wall time in microseconds.
 * The guest's busybox cannot time short operations (no %N in date,
 * 10 ms /proc/uptime); benchmarks use this instead.
 *
 *   cowtime CMD [ARGS...]     prints "<usec>" on stdout; exit status of CMD
 *   cowtime --now             prints CLOCK_MONOTONIC as "<sec>.<usec>" (the
 *                             form of perf report --time, perf record -k mono)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct timespec a, b;
	int status;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: cowtime CMD [ARGS...] | cowtime --now\n");
		return 2;
	}
	if (!strcmp(argv[1], "--now")) {
		clock_gettime(CLOCK_MONOTONIC, &a);
		printf("%lld.%06ld\n", (long long)a.tv_sec, a.tv_nsec / 1000);
		return 0;
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
