/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * main.c - the floodgate daemon's entry point: arguments, config, exit status.
 *
 *   floodgate -c CONFIG        run the gateway (see server.h)
 *   floodgate -t -c CONFIG     validate CONFIG and exit: 0 valid, 2 invalid
 *
 * Exit status: 0 after a clean stop or a valid config, 1 when the daemon cannot start
 * (port in use, key store unreadable), 2 for an invalid config or bad arguments.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "gw/config.h"
#include "gw/fastfmt.h"
#include "gw/hpack.h"
#include "gw/hpackdec.h"
#include "gw/tlsfast.h"
#include "gw/server.h"

#define EXIT_USAGE 2

static void usage(FILE *f)
{
	fprintf(f, "usage: floodgate [-t] [-q | -v] -c CONFIG\n"
		   "  -c, --config FILE  the JSON config (reference: docs/config.md)\n"
		   "  -t, --test         validate the config and exit (0 valid, 2 invalid)\n"
		   "  -q, --quiet        log warnings and errors only\n"
		   "  -v, --verbose      log debug messages too\n"
		   "  -h, --help         this text\n"
		   "signals: SIGHUP reloads the config (a bad one is refused, the old one stays),\n"
		   "         SIGTERM / SIGINT stop gracefully (limits.shutdown_timeout_ms)\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "test", no_argument, NULL, 't' },
		{ "quiet", no_argument, NULL, 'q' },	    { "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },	    { NULL, 0, NULL, 0 },
	};
	char err[GW_CONFIG_ERRLEN];
	const char *file = NULL;
	gw_config_t *cfg;
	int test = 0, c;

	fg_log_set_ident("floodgate");
	fg_log_level = FG_LOG_INFO;
	while ((c = getopt_long(argc, argv, "c:tqvh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			file = optarg;
			break;
		case 't':
			test = 1;
			break;
		case 'q':
			fg_log_level = FG_LOG_WARN;
			break;
		case 'v':
			fg_log_level = FG_LOG_DEBUG;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc || !file) {
		fprintf(stderr, "floodgate: %s\n",
			optind != argc ? "unexpected argument" : "missing -c CONFIG");
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!(cfg = gw_config_load(file, err, sizeof(err)))) {
		/* file:line:col: message, alone on its line, like a compiler */
		fprintf(stderr, "%s\n", err);
		return GW_CONFIG_EXIT_INVALID;
	}
	if (test) {
		fprintf(stderr, "floodgate: %s: configuration is valid\n", file);
		gw_config_unref(cfg);
		return 0;
	}
	/* Not fatal: libh2o then formats with glibc's sprintf, correct and slower. */
	if (!gw_fastfmt_bound())
		pr_warn("h2o's per-response formats are not bound to floodgate's fast path "
			"(fastfmt.h): responses cost more CPU");
	if (!gw_hpack_bound())
		pr_warn("h2o's HTTP/2 response encoder is not bound to floodgate's (hpack.h): "
			"responses cost more CPU");
	if (!gw_tlsfast_bound())
		pr_warn("h2o's TLS reads and writes are not bound to floodgate's record layer "
			"(tlsfast.h): TLS 1.3 records cost more CPU");
	if (!gw_hpackdec_bound())
		pr_warn("h2o's HTTP/2 request decoder is not bound to floodgate's (hpackdec.h): "
			"requests cost more CPU");
	return gw_server_run(file, cfg);
}
