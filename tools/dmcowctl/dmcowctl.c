// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcowctl: manage dm-cowtree pools and volumes.
 *
 * One table of commands; each command lives in its own cmd-*.c file.
 */
#include "dmcowctl.h"
#include "dm.h"
#include "offline.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define DMCOWCTL_VERSION "0.1.0"

static int cmd_version(int argc, char **argv);
static int cmd_help(int argc, char **argv);

static const struct dmcowctl_command commands[] = {
	{ "pool", "create|activate|deactivate|extend|status POOL ...",
	  "Manage pools ('dmcowctl pool' lists the subcommands).", cmd_pool },
	{ "create", "POOL/NAME SIZE", "Create and activate a new volume.", cmd_create },
	{ "snapshot", "POOL/NAME[,POOL/NAME...] SNAPNAME",
	  "Snapshot one or several volumes atomically.", cmd_snapshot },
	{ "activate", "POOL/NAME", "Activate a volume as /dev/mapper/POOL-NAME.", cmd_activate },
	{ "deactivate", "POOL/NAME", "Remove a volume's device.", cmd_deactivate },
	{ "delete", "POOL/NAME [--force]", "Delete a volume or snapshot.", cmd_delete },
	{ "rollback", "POOL/NAME SNAPNAME", "Give a volume the contents of one of its snapshots.",
	  cmd_rollback },
	{ "rename", "POOL/NAME NEWNAME", "Rename a volume (and its device).", cmd_rename },
	{ "resize", "POOL/NAME SIZE [--force]", "Change a volume's size (growing only unless --force).",
	  cmd_resize },
	{ "list", "[POOL] [--all] [--json] [-o COLUMNS]",
	  "Show volumes and snapshots as a tree (--all: hidden ones too).", cmd_list },
	{ "monitor", "POOL [--threshold PCT] [--extend-by SIZE|PCT%] [--interval SECONDS] [--once] [--json]",
	  "Follow pool events; grow an LVM data device when the pool fills.", cmd_monitor },
	{ "check", "METADATA_DEV | --live POOL [--json] [--quiet] [--strict-leaks] [--clear-needs-check]",
	  "Check pool metadata (exit 0 clean, 1 errors, 2 cannot open).", cmd_check },
	{ "dump", "METADATA_DEV [--json] [-o FILE] [--skip-damaged]",
	  "Print an inactive pool's volumes and mappings.", cmd_dump },
	{ "restore", "-i FILE -o METADATA_DEV",
	  "Write a new pool from a dump.", cmd_restore },
	{ "repair", "-i BAD_METADATA_DEV -o NEW_METADATA_DEV",
	  "Salvage what can be read of damaged metadata into a new pool.", cmd_repair },
	{ "delta", "POOL/A POOL/B | --metadata METADATA_DEV A B [--json]",
	  "Print the chunk ranges where two volumes differ.", cmd_delta },
	{ "send", "POOL/SNAP [--from POOL/BASE] [-o FILE] [-t TOKEN] [--dry-run] [--json]",
	  "Write a volume, or its changes since BASE, as a stream.", cmd_send },
	{ "receive", "POOL/NAME [-i FILE] [--resume | --abort | --token] [--json]",
	  "Make a volume from a send stream (atomically; resumable).", cmd_receive },
	{ "reshare", "POOL/A POOL/B [--dry-run] [--json]",
	  "Share again the chunks two related volumes hold with equal data.", cmd_reshare },
	/* File-level commands (fs/) */
	{ "mount", "POOL/SNAP DIR [--rw]",
	  "Mount a snapshot's filesystem through a hidden throwaway snapshot.", cmd_mount },
	{ "umount", "DIR", "Unmount a view made by 'mount' and delete its throwaway.",
	  cmd_umount },
	{ "du", "POOL/NAME [PATH...] [--json] [--with]",
	  "Space per file: allocated, shared with other volumes, exclusive.", cmd_du },
	{ "cowlinks", "POOL/A POOL/B [PATH] [--json]",
	  "Per file: blocks shared, diverged or rewritten between two volumes.", cmd_cowlinks },
	{ "diff", "POOL/A POOL/B [PATH] [--json]",
	  "Files added, removed, modified, renamed between two volumes.", cmd_diff },
	{ "restore-files", "POOL/SNAP:PATH DEST [-n] [--delete]",
	  "Restore a snapshot's files into a mounted volume, writing only what differs.",
	  cmd_restore_files },
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
		fprintf(f, "  %-10s %s\n  %-10s   %s\n", commands[i].name,
			commands[i].args, "", commands[i].help);
	fprintf(f, "\nexit status: 0 success, 1 operation failed, 2 usage error\n");
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

	if (argc < 2) {
		dmcowctl_err("no command given; 'dmcowctl help' lists them");
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	c = find_command(argv[1]);
	if (!c) {
		dmcowctl_err("unknown command '%s'; 'dmcowctl help' lists them", argv[1]);
		return 2;
	}
	/* "pool" handles -h itself, after its subcommand. */
	if (c->run != cmd_pool && argc > 2 &&
	    (!strcmp(argv[2], "-h") || !strcmp(argv[2], "--help"))) {
		printf("usage: dmcowctl %s %s\n%s\n", c->name, c->args, c->help);
		return 0;
	}
	dmc_setup();
	return c->run(argc - 1, argv + 1);
}
