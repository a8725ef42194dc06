/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dmcowctl: shared declarations of the command files.
 */
#ifndef DMCOWCTL_H
#define DMCOWCTL_H

struct dmcowctl_command {
	const char *name;
	const char *args;	/* one-line synopsis of the arguments */
	const char *help;	/* one sentence */
	int (*run)(int argc, char **argv);
};

/* Print "dmcowctl: <message>" on stderr. */
void dmcowctl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
