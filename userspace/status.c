// SPDX-License-Identifier: GPL-2.0-only
/* dmsealctl status / pins: read-only views of the module's state. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netlink/attr.h>

#include "dmsealctl.h"

static int simple_opts(int argc, char **argv, void (*usage)(FILE *))
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j': opt_json = true; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(usage_err(NULL)); return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		usage(usage_err(NULL));
		return EXIT_USAGE;
	}
	return -1;
}

static void status_usage(FILE *f)
{
	fprintf(f,
		"Usage: %s status [-j]\n"
		"\n"
		"Show the dmseal module's version, whether a policy is sealed, its\n"
		"SHA-256 digest, how many targets were allowed, denied and are pinned\n"
		"right now, and, when the module reports it, whether enforcement is live\n"
		"(enforcing: yes/no) and what enforces or what broke (enforcement).\n"
		"Loads the modules (dm_mod, dm_crypt, dm_integrity, dmseal) first if\n"
		"needed. Text: one \"key: value\" per line; JSON: one object, with\n"
		"\"sealed\" and \"enforcing\" as booleans.\n", prog);
}

static void status_line(const char *key, const char *text, bool sentence, void *arg)
{
	char k[40];

	(void)sentence;
	(void)arg;
	/* one key a line: a value may keep its spaces, never a newline */
	snprintf(k, sizeof(k), "%s:", key);
	printf("%-16s %s\n", k, text);
}

static int status_cb(struct nlattr **tb, uint8_t cmd, void *arg)
{
	(void)cmd;
	if (opt_json) {
		struct json_object *o = json_out_new();

		dnl_attrs_json_into(o, tb);
		if (!tb[DMSEAL_A_SEALED])
			json_object_object_add(o, "sealed", json_object_new_boolean(0));
		json_print(o, false);
		json_object_put(o);
	} else {
		dnl_attrs_each(tb, status_line, NULL);
	}
	*(int *)arg = 1;
	return 0;
}

int cmd_status(int argc, char **argv)
{
	struct dnl *nl;
	int r, got = 0;

	r = simple_opts(argc, argv, status_usage);
	if (r >= 0)
		return r;
	r = dnl_connect(&nl, false);
	if (r)
		return r;
	r = dnl_request(nl, DMSEAL_CMD_STATUS, false, NULL, 0, status_cb, &got);
	if (r) {
		const char *why = dnl_extack(nl);

		err_msg("status: %s%s%s", strerror(-r), why ? ": " : "", why ? shown(why) : "");
		dnl_close(nl);
		return errno_exit(r);
	}
	dnl_close(nl);
	return got ? EXIT_OK : EXIT_FAIL;
}

static void pins_usage(FILE *f)
{
	fprintf(f,
		"Usage: %s pins [-j]\n"
		"\n"
		"List every target the kernel accepted and pinned: its device, target\n"
		"type and range, the profile that accepted it, the backing device, the\n"
		"devices it opened (opens, when the module reports them) and a summary\n"
		"of the pinned parameters (never key material). Text: one line per\n"
		"target, `key=value ...`, names and uuids escaped (\\xHH); JSON: one\n"
		"object, {\"dmsealctl_json\": 1, \"targets\": [...]}, one object per\n"
		"target, strings exact.\n", prog);
}

static int pins_cb(struct nlattr **tb, uint8_t cmd, void *arg)
{
	struct json_object *arr = arg;

	(void)cmd;
	if (opt_json) {
		json_object_array_add(arr, dnl_attrs_json(tb));
	} else {
		char *line = dnl_attrs_line(tb);

		if (!line)
			return -ENOMEM;
		puts(line);
		free(line);
	}
	return 0;
}

int cmd_pins(int argc, char **argv)
{
	struct json_object *arr;
	struct dnl *nl;
	int r;

	r = simple_opts(argc, argv, pins_usage);
	if (r >= 0)
		return r;
	r = dnl_connect(&nl, false);
	if (r)
		return r;
	arr = json_object_new_array();
	r = dnl_request(nl, DMSEAL_CMD_LIST_PINS, true, NULL, 0, pins_cb, arr);
	if (r) {
		const char *why = dnl_extack(nl);

		err_msg("pins: %s%s%s", strerror(-r), why ? ": " : "", why ? shown(why) : "");
		json_object_put(arr);
		dnl_close(nl);
		return errno_exit(r);
	}
	dnl_close(nl);
	if (opt_json) {
		struct json_object *o = json_out_new();

		json_object_object_add(o, "targets", json_object_get(arr));
		json_print(o, false);
		json_object_put(o);
	}
	json_object_put(arr);
	return EXIT_OK;
}
