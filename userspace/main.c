// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmsealctl: the userspace helper of dmseal. Command dispatch and the
 * top-level help; each command lives in its own file.
 */
#include <getopt.h>
#include <libcryptsetup.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmsealctl.h"

bool opt_json;
bool opt_verbose;
bool opt_debug;
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
		"Usage: %s [-j|--json] [-v|--verbose] [--debug] COMMAND [ARGS...]\n"
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
		"      --debug    --verbose with libcryptsetup's debug log, every line stamped\n"
		"                 with the seconds since start (never key material)\n"
		"  -h, --help     this help; `%s COMMAND --help` for a command\n"
		"  -V, --version  print the version\n"
		"\nExit status: 0 ok, 1 failed, 2 usage error, 3 refused by the kernel,\n"
		"4 not sealed / no such device or volume, 5 volume key not fetched,\n"
		"6 the disk does not hold what was asked, 7 not privileged,\n"
		"8 the dmseal module is not loaded and cannot be. See dmsealctl(8).\n", prog);
}

/*
 * --json anywhere on the command line (before "--"), so that even a bad
 * command line of a subcommand, parsed later, ends in a JSON error: "-j",
 * "--json", or a cluster of the flags without arguments ("-jv", "-vj").
 */
static bool wants_json(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--"))
			break;
		if (!strcmp(a, "--json"))
			return true;
		if (a[0] == '-' && a[1] && a[1] != '-' && strchr(a, 'j') &&
		    strspn(a + 1, "jvh") == strlen(a + 1))
			return true;
	}
	return false;
}

static int run(int argc, char **argv);

int main(int argc, char **argv)
{
	int rc;

	opt_json = wants_json(argc, argv);
	/* with --json, getopt's complaints would be text: usage_err() says it */
	if (opt_json)
		opterr = 0;
	rc = run(argc, argv);
	json_error_print(rc);
	return rc;
}

static int run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "debug", no_argument, NULL, 'D' },
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
		case 'D':
			opt_debug = opt_verbose = true;
			since_start();
			crypt_set_debug_level(CRYPT_DEBUG_ALL);
			break;
		case 'h': usage(stdout); return EXIT_OK;
		case 'V':
			if (opt_json) {
				struct json_object *o = json_out_new();

				json_object_object_add(o, "dmsealctl_version",
						       json_object_new_string(DMSEALCTL_VERSION));
				json_print(o, false);
				json_object_put(o);
			} else {
				printf("dmsealctl %s\n", DMSEALCTL_VERSION);
			}
			return EXIT_OK;
		default: usage(usage_err(NULL)); return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(usage_err(NULL));
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
	usage(usage_err(NULL));
	return EXIT_USAGE;
}
