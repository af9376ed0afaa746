/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * output.c - how fgctl prints: aligned tables for people, JSON for scripts (jansson),
 * and the operator-error report that makes main() exit 2.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fgctl.h"
#include "log.h"

int fgctl_bad(struct fgctl_ctx *ctx, int err, const char *fmt, ...)
{
	va_list ap;

	ctx->bad_arg = true;
	va_start(ap, fmt);
	fg_log_vemit(FG_LOG_ERROR, fmt, ap);
	va_end(ap);
	return err < 0 ? err : -EINVAL;
}

void fgctl_table_init(struct fgctl_table *t, unsigned ncols, const char *const *heads,
		      unsigned right)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
	t->heads = heads;
	t->right = right;
}

int fgctl_table_add(struct fgctl_table *t, ...)
{
	va_list ap;

	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		char **grown = realloc(t->cells, cap * t->ncols * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		t->cells = grown;
		t->cap = cap;
	}
	va_start(ap, t);
	for (unsigned c = 0; c < t->ncols; c++) {
		const char *s = va_arg(ap, const char *);

		t->cells[t->nrows * t->ncols + c] = strdup(s ? s : "");
	}
	va_end(ap);
	t->nrows++;
	return 0;
}

void fgctl_table_print(const struct fgctl_table *t, FILE *f)
{
	size_t w[16] = { 0 };
	unsigned nc = t->ncols < 16 ? t->ncols : 16;

	for (unsigned c = 0; c < nc; c++) {
		w[c] = strlen(t->heads[c]);
		for (size_t r = 0; r < t->nrows; r++) {
			const char *s = t->cells[r * t->ncols + c];
			size_t n = s ? strlen(s) : 1;

			if (n > w[c])
				w[c] = n;
		}
	}
	for (size_t r = 0; r <= t->nrows; r++) {
		for (unsigned c = 0; c < nc; c++) {
			const char *s = r ? t->cells[(r - 1) * t->ncols + c] : t->heads[c];
			bool last = c + 1 == nc;

			if (!s)
				s = "?";
			if (t->right & (1u << c))
				fprintf(f, "%*s%s", (int)w[c], s, last ? "" : "  ");
			else if (last)
				fprintf(f, "%s", s);
			else
				fprintf(f, "%-*s  ", (int)w[c], s);
		}
		fputc('\n', f);
	}
}

void fgctl_table_free(struct fgctl_table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->nrows = t->cap = 0;
}

int fgctl_json_print(FILE *f, json_t *j, bool compact)
{
	int err;

	if (!j)
		return -ENOMEM;
	err = json_dumpf(j, f, JSON_REAL_PRECISION(10) | (compact ? JSON_COMPACT : JSON_INDENT(2)));
	json_decref(j);
	if (err)
		return -EIO;
	fputc('\n', f);
	fflush(f);
	return 0;
}

json_t *fgctl_json_u64(uint64_t v)
{
	return json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v);
}

const char *fgctl_limit_text(const struct edge_limit *l, char *buf, size_t len)
{
	if (!l->rate)
		snprintf(buf, len, "off");
	else
		snprintf(buf, len, "%llu/s, burst %llu", (unsigned long long)l->rate,
			 (unsigned long long)l->burst);
	return buf;
}
