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
		"pin, unpin, seal. Text: `EVENT key=value ...` per line; JSON: one\n"
		"object per line with \"event\" and the attributes.\n"
		"\n"
		"  -n, --count N        exit after N events\n"
		"  -t, --timeout S      exit after S seconds (status 0)\n", prog);
}

struct mon {
	uint64_t seen;
};

int print_event(struct nlattr **tb, uint8_t cmd, void *arg)
{
	struct mon *m = arg;

	if (opt_json) {
		struct json_object *o = dnl_attrs_json(tb);

		json_object_object_add(o, "event", json_object_new_string(dnl_cmd_name(cmd)));
		json_print(o, false);
		json_object_put(o);
	} else {
		char line[2048];

		dnl_attrs_text(tb, line, sizeof(line));
		printf("%s %s\n", dnl_cmd_name(cmd), line);
		fflush(stdout);
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
		default: monitor_usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		monitor_usage(stderr);
		return EXIT_USAGE;
	}
	if (dnl_connect(&nl, true))
		return EXIT_FAIL;
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
