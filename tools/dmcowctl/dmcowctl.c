// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcowctl: manage dm-cowtree pools and volumes.
 *
 * One table of commands; each command lives in its own cmd-*.c file.
 */
#include "dmcowctl.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define DMCOWCTL_VERSION "0.1.0"

static int cmd_version(int argc, char **argv);
static int cmd_help(int argc, char **argv);

static const struct dmcowctl_command commands[] = {
	{ "help", "[COMMAND]", "Show the commands or one command's usage.", cmd_help },
	{ "version", "", "Print the version of dmcowctl.", cmd_version },
};

void dmcowctl_err(const char *fmt, ...)
{
	va_list ap;

	fputs("dmcowctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static const struct dmcowctl_command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: dmcowctl COMMAND [ARGS...]\n\ncommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %-24s %s\n", commands[i].name,
			commands[i].args, commands[i].help);
}

static int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("dmcowctl %s\n", DMCOWCTL_VERSION);
	return 0;
}

static int cmd_help(int argc, char **argv)
{
	const struct dmcowctl_command *c;

	if (argc < 2) {
		usage(stdout);
		return 0;
	}
	c = find_command(argv[1]);
	if (!c) {
		dmcowctl_err("unknown command '%s'; 'dmcowctl help' lists them", argv[1]);
		return 2;
	}
	printf("usage: dmcowctl %s %s\n%s\n", c->name, c->args, c->help);
	return 0;
}

int main(int argc, char **argv)
{
	const struct dmcowctl_command *c;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	c = find_command(argv[1]);
	if (!c) {
		dmcowctl_err("unknown command '%s'; 'dmcowctl help' lists them", argv[1]);
		return 2;
	}
	return c->run(argc - 1, argv + 1);
}
