/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * jsonpos.h - where each value of a parsed JSON document sits in its text.
 *
 * jansson reports line:column for syntax errors only; a config value that parses but is
 * wrong (unknown key, bad regex, bad CIDR) would otherwise be reported by JSON path alone.
 * This index walks the text once alongside the jansson tree and records, for every member
 * of every object and array, the line and column of its key and of its value, so each
 * config error can say file:line:col. Lines and columns start at 1; columns count bytes.
 */
#ifndef GW_JSONPOS_H
#define GW_JSONPOS_H

#include <stddef.h>
#include <jansson.h>

typedef struct st_gw_jsonpos_t gw_jsonpos_t;

/* A text position; line 0 means unknown. */
typedef struct st_gw_textpos_t {
	int line;
	int col;
} gw_textpos_t;

/*
 * Index `text` (the exact bytes root was parsed from, without JSON_DECODE_ANY surprises).
 * Returns NULL on allocation failure or when text and tree disagree (then every lookup
 * is simply unknown, which callers handle).
 */
gw_jsonpos_t *gw_jsonpos_build(const char *text, size_t len, const json_t *root);
void gw_jsonpos_free(gw_jsonpos_t *p);

/*
 * Position of member `index` of `parent` (the index-th key of an object in document order,
 * or the index-th element of an array); parent NULL and index 0 is the root value.
 * key is unknown (line 0) for array elements and the root. p may be NULL.
 */
void gw_jsonpos_find(const gw_jsonpos_t *p, const json_t *parent, size_t index, gw_textpos_t *key,
		     gw_textpos_t *value);

#endif /* GW_JSONPOS_H */
