/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * log.h - level-checked logging shared by fgctl, the daemon and the tools.
 *
 * Messages go to stderr (or the sink set with fg_log_set_sink) as one line each:
 * "floodgate: error: Couldn't open map fg_config: No such file or directory". libbpf and
 * libxdp output is routed through here one level down (their warnings become our info),
 * so a normal run shows only our own errors and -v shows theirs.
 */
#ifndef FG_LOG_H
#define FG_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum fg_log_level {
	FG_LOG_ERROR = 0,
	FG_LOG_WARN,
	FG_LOG_INFO,
	FG_LOG_DEBUG,
};

/* Messages above this level are dropped before any formatting. */
extern enum fg_log_level fg_log_level;

/* Program name printed before every line (default "floodgate"). */
void fg_log_set_ident(const char *ident);

/* Where lines go; NULL restores stderr. The sink gets a complete line without "\n". */
typedef void (*fg_log_sink_fn)(enum fg_log_level level, const char *line);
void fg_log_set_sink(fg_log_sink_fn sink);

void fg_log_emit(enum fg_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void fg_log_vemit(enum fg_log_level level, const char *fmt, va_list ap);

/* Route libbpf's and libxdp's messages through fg_log, one level down. */
void fg_log_hook_libbpf(void);

/*
 * While on (calls nest, per thread), libbpf's and libxdp's warnings are logged at the debug
 * level: for a step whose failure is expected and handled by the caller.
 */
void fg_log_libbpf_quiet(bool on);

#define fg_log(level, ...)                                                                         \
	do {                                                                                       \
		if ((level) <= fg_log_level)                                                       \
			fg_log_emit((level), __VA_ARGS__);                                         \
	} while (0)

#define pr_err(...)   fg_log(FG_LOG_ERROR, __VA_ARGS__)
#define pr_warn(...)  fg_log(FG_LOG_WARN, __VA_ARGS__)
#define pr_info(...)  fg_log(FG_LOG_INFO, __VA_ARGS__)
#define pr_debug(...) fg_log(FG_LOG_DEBUG, __VA_ARGS__)

#endif /* FG_LOG_H */
