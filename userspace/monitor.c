// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmsealctl monitor: print the "events" multicast group as it happens, one
 * line (or one JSON object) per event, flushed at once so a pipe sees it.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmsealctl.h"

static void monitor_usage(FILE *f)
{
	fprintf(f,
		"Usage: %s monitor [-j] [--count N] [--timeout SECONDS]\n"
		"\n"
		"Subscribe to dmseal's \"events\" group and print each event as it comes:\n"
		"deny (a table load or target message refused, with the reason),\n"
		"pin, unpin, seal, enforcement (enforcement stopped or resumed).\n"
		"Text: `EVENT key=value ...`, one line per event; names, uuids and\n"
		"target types are escaped (\\xHH for spaces, control bytes, non-ASCII,\n"
		"quotes, backslashes), sentences are quoted. JSON: one object per line\n"
		"with \"dmsealctl_json\", \"event\" and the attributes, strings exact.\n"
		"\n"
		"  -n, --count N        exit after N events\n"
		"  -t, --timeout S      exit after S seconds (status 0)\n", prog);
}

struct mon {
	uint64_t seen;
};

/*
 * One event, one line: every string from the kernel is escaped (names and
 * uuids are whatever the table's loader chose), so no event can forge a
 * field or a second line. Events of a newer kernel print as "unknown".
 */
int print_event(struct nlattr **tb, uint8_t cmd, void *arg)
{
	const char *name = dnl_cmd_name(cmd);
	struct mon *m = arg;

	if (opt_json) {
		struct json_object *o = json_out_new();

		json_object_object_add(o, "event", json_object_new_string(name));
		if (!strcmp(name, "unknown"))
			json_object_object_add(o, "cmd", json_object_new_int(cmd));
		dnl_attrs_json_into(o, tb);
		json_print(o, false);
		json_object_put(o);
	} else {
		char *line = dnl_attrs_line(tb);

		if (!line)
			return -ENOMEM;
		if (!strcmp(name, "unknown"))
			printf("unknown cmd=%u%s%s\n", cmd, line[0] ? " " : "", line);
		else
			printf("%s%s%s\n", name, line[0] ? " " : "", line);
		fflush(stdout);
		free(line);
	}
	if (m)
		m->seen++;
	return 0;
}

int cmd_monitor(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "count", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t count = 0, timeout = 0;
	struct mon m = { 0 };
	struct dnl *nl;
	double end = 0;
	int c, r;

	while ((c = getopt_long(argc, argv, "jn:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': opt_json = true; break;
		case 'n':
			if (parse_u64(optarg, &count) || !count) {
				err_msg("--count: a positive integer");
				return EXIT_USAGE;
			}
			break;
		case 't':
			if (parse_u64(optarg, &timeout) || !timeout || timeout > 86400 * 365) {
				err_msg("--timeout: a positive number of seconds");
				return EXIT_USAGE;
			}
			break;
		case 'h': monitor_usage(stdout); return EXIT_OK;
		default: monitor_usage(usage_err("monitor")); return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		monitor_usage(usage_err("monitor"));
		return EXIT_USAGE;
	}
	r = dnl_connect(&nl, true);
	if (r)
		return r;
	if (timeout)
		end = now_s() + timeout;
	verbose("listening for dmseal events");
	while (!count || m.seen < count) {
		int ms = -1;

		if (timeout) {
			double left = end - now_s();

			if (left <= 0)
				break;
			ms = (int)(left * 1000) + 1;
		}
		r = dnl_wait_event(nl, ms, print_event, &m);
		if (r < 0) {
			err_msg("monitor: %s", strerror(-r));
			dnl_close(nl);
			return EXIT_FAIL;
		}
	}
	dnl_close(nl);
	return EXIT_OK;
}
