/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * log.c - the one place that formats and writes log lines (see log.h).
 */
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "log.h"

enum fg_log_level fg_log_level = FG_LOG_WARN;

static const char *log_ident = "floodgate";
static fg_log_sink_fn log_sink;

static const char *const level_names[] = {
	[FG_LOG_ERROR] = "error",
	[FG_LOG_WARN] = "warning",
	[FG_LOG_INFO] = "info",
	[FG_LOG_DEBUG] = "debug",
};

void fg_log_set_ident(const char *ident)
{
	log_ident = ident;
}

void fg_log_set_sink(fg_log_sink_fn sink)
{
	log_sink = sink;
}

void fg_log_vemit(enum fg_log_level level, const char *fmt, va_list ap)
{
	char line[1024];
	int n;

	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		return;
	/* One line per message: the libraries end theirs with "\n", we add our own. */
	n = (int)strnlen(line, sizeof(line));
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	if (log_sink) {
		log_sink(level, line);
		return;
	}
	fprintf(stderr, "%s: %s: %s\n", log_ident, level_names[level], line);
}

void fg_log_emit(enum fg_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fg_log_vemit(level, fmt, ap);
	va_end(ap);
}

/* Set while a step whose failure is expected and handled runs (fg_log_libbpf_quiet()). */
static __thread int libbpf_quiet;

void fg_log_libbpf_quiet(bool on)
{
	libbpf_quiet += on ? 1 : -1;
}

/* libbpf's WARN is our INFO: its warnings accompany an error we report ourselves. */
static int libbpf_print(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	enum fg_log_level level = lvl == LIBBPF_WARN && !libbpf_quiet ? FG_LOG_INFO : FG_LOG_DEBUG;

	if (level <= fg_log_level)
		fg_log_vemit(level, fmt, ap);
	return 0;
}

static int libxdp_print(enum libxdp_print_level lvl, const char *fmt, va_list ap)
{
	enum fg_log_level level = lvl == LIBXDP_WARN && !libbpf_quiet ? FG_LOG_INFO : FG_LOG_DEBUG;

	if (level <= fg_log_level)
		fg_log_vemit(level, fmt, ap);
	return 0;
}

void fg_log_hook_libbpf(void)
{
	libbpf_set_print(libbpf_print);
	libxdp_set_print(libxdp_print);
}
