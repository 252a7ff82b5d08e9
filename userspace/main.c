// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmsealctl: the userspace helper of dmseal. Command dispatch and the
 * top-level help; each command lives in its own file.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmsealctl.h"

bool opt_json;
bool opt_verbose;
const char *prog = "dmsealctl";

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "policy", cmd_policy, "digest, load (seal) or show the storage policy" },
	{ "status", cmd_status, "module version, seal state, digest, counters" },
	{ "pins", cmd_pins, "list the crypt/integrity targets the kernel pinned" },
	{ "monitor", cmd_monitor, "print dmseal events (deny, pin, unpin, seal)" },
	{ "ephemeral", cmd_ephemeral, "set up / tear down an ephemeral encrypted volume" },
	{ "persistent", cmd_persistent, "set up / tear down a persistent volume keyed by the KBS" },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f,
		"Usage: %s [-j|--json] [-v|--verbose] COMMAND [ARGS...]\n"
		"\n"
		"Control dmseal, the sealed device-mapper storage policy of a\n"
		"confidential guest, and set up ephemeral and persistent volumes it accepts.\n"
		"\nCommands:\n", prog);
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(f,
		"\nOptions:\n"
		"  -j, --json     machine-readable JSON output\n"
		"  -v, --verbose  say what happens (and how long each step takes) on stderr\n"
		"  -h, --help     this help; `%s COMMAND --help` for a command\n"
		"  -V, --version  print the version\n"
		"\nExit status: 0 ok, 1 failed, 2 usage error, 3 refused by the kernel,\n"
		"4 not sealed / no such device or volume. See dmsealctl(8).\n", prog);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	size_t i;
	int c;

	/* '+': stop at the command; its own options are parsed by it */
	while ((c = getopt_long(argc, argv, "+jvhV", opts, NULL)) != -1) {
		switch (c) {
		case 'j': opt_json = true; break;
		case 'v': opt_verbose = true; break;
		case 'h': usage(stdout); return EXIT_OK;
		case 'V': printf("dmsealctl %s\n", DMSEALCTL_VERSION); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		if (!strcmp(argv[optind], commands[i].name)) {
			argc -= optind;
			argv += optind;
			optind = 0;	/* reset getopt for the command */
			return commands[i].fn(argc, argv);
		}
	}
	if (!strcmp(argv[optind], "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	err_msg("unknown command '%s'", shown(argv[optind]));
	usage(stderr);
	return EXIT_USAGE;
}
