/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * jsonpos.c - a second, position-only pass over JSON text jansson already accepted.
 *
 * The text is known to be valid JSON, so the scanner only has to find token boundaries.
 * Object members are matched to jansson's by order (jansson keeps insertion order and the
 * config loader rejects duplicate keys); a key that does not compare equal aborts the walk
 * rather than report a wrong position.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "gw/jsonpos.h"

struct rec {
	const json_t *parent;
	size_t index;
	gw_textpos_t key, value;
};

struct st_gw_jsonpos_t {
	struct rec *recs;
	size_t n, cap;
};

struct cursor {
	const char *s;
	size_t len, i;
	int line;
	size_t line_start;
	int depth;
};

/* Deeper documents are legal JSON but not a config; jansson itself stops at 2048. */
#define MAX_DEPTH 2048

static gw_textpos_t here(const struct cursor *c)
{
	return (gw_textpos_t){ c->line, (int)(c->i - c->line_start) + 1 };
}

static void skip_ws(struct cursor *c)
{
	while (c->i < c->len) {
		char ch = c->s[c->i];

		if (ch == '\n') {
			c->line++;
			c->line_start = c->i + 1;
		} else if (ch != ' ' && ch != '\t' && ch != '\r') {
			return;
		}
		c->i++;
	}
}

/* Skip a string starting at its opening quote; *raw and *rawlen get its undecoded body,
 * *escaped whether it contains a backslash. */
static bool skip_string(struct cursor *c, const char **raw, size_t *rawlen, bool *escaped)
{
	size_t start;

	if (c->i >= c->len || c->s[c->i] != '"')
		return false;
	start = ++c->i;
	*escaped = false;
	while (c->i < c->len && c->s[c->i] != '"') {
		if (c->s[c->i] == '\\') {
			*escaped = true;
			c->i++;
		}
		c->i++;
	}
	if (c->i >= c->len)
		return false;
	*raw = c->s + start;
	*rawlen = c->i - start;
	c->i++;
	return true;
}

static bool add(gw_jsonpos_t *p, const json_t *parent, size_t index, gw_textpos_t key,
		gw_textpos_t value)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct rec *r = realloc(p->recs, cap * sizeof(*r));

		if (!r)
			return false;
		p->recs = r;
		p->cap = cap;
	}
	p->recs[p->n++] = (struct rec){ parent, index, key, value };
	return true;
}

static bool walk(gw_jsonpos_t *p, struct cursor *c, const json_t *v);

static bool walk_object(gw_jsonpos_t *p, struct cursor *c, const json_t *obj)
{
	void *it = json_object_iter((json_t *)obj);
	size_t index = 0;

	c->i++; /* { */
	skip_ws(c);
	if (c->i < c->len && c->s[c->i] == '}') {
		c->i++;
		return it == NULL;
	}
	for (;;) {
		const char *raw;
		size_t rawlen;
		bool escaped;
		gw_textpos_t kpos, vpos;

		skip_ws(c);
		kpos = here(c);
		if (!it || !skip_string(c, &raw, &rawlen, &escaped))
			return false;
		if (!escaped && (strlen(json_object_iter_key(it)) != rawlen ||
				 memcmp(json_object_iter_key(it), raw, rawlen)))
			return false;
		skip_ws(c);
		if (c->i >= c->len || c->s[c->i] != ':')
			return false;
		c->i++;
		skip_ws(c);
		vpos = here(c);
		if (!add(p, obj, index, kpos, vpos) || !walk(p, c, json_object_iter_value(it)))
			return false;
		index++;
		it = json_object_iter_next((json_t *)obj, it);
		skip_ws(c);
		if (c->i >= c->len)
			return false;
		if (c->s[c->i] == '}') {
			c->i++;
			return it == NULL;
		}
		if (c->s[c->i] != ',')
			return false;
		c->i++;
	}
}

static bool walk_array(gw_jsonpos_t *p, struct cursor *c, const json_t *arr)
{
	size_t index = 0, n = json_array_size(arr);

	c->i++; /* [ */
	skip_ws(c);
	if (c->i < c->len && c->s[c->i] == ']') {
		c->i++;
		return n == 0;
	}
	for (;;) {
		skip_ws(c);
		if (index >= n || !add(p, arr, index, (gw_textpos_t){ 0, 0 }, here(c)) ||
		    !walk(p, c, json_array_get(arr, index)))
			return false;
		index++;
		skip_ws(c);
		if (c->i >= c->len)
			return false;
		if (c->s[c->i] == ']') {
			c->i++;
			return index == n;
		}
		if (c->s[c->i] != ',')
			return false;
		c->i++;
	}
}

static bool walk(gw_jsonpos_t *p, struct cursor *c, const json_t *v)
{
	const char *raw;
	size_t rawlen;
	bool escaped, ok;

	skip_ws(c);
	if (c->i >= c->len || !v)
		return false;
	switch (c->s[c->i]) {
	case '{':
		if (!json_is_object(v) || ++c->depth > MAX_DEPTH)
			return false;
		ok = walk_object(p, c, v);
		c->depth--;
		return ok;
	case '[':
		if (!json_is_array(v) || ++c->depth > MAX_DEPTH)
			return false;
		ok = walk_array(p, c, v);
		c->depth--;
		return ok;
	case '"':
		return json_is_string(v) && skip_string(c, &raw, &rawlen, &escaped);
	default:
		/* number, true, false, null: up to the next delimiter */
		while (c->i < c->len && !strchr(",]} \t\r\n", c->s[c->i]))
			c->i++;
		return true;
	}
}

gw_jsonpos_t *gw_jsonpos_build(const char *text, size_t len, const json_t *root)
{
	gw_jsonpos_t *p = calloc(1, sizeof(*p));
	struct cursor c = { .s = text, .len = len, .line = 1 };

	if (!p)
		return NULL;
	skip_ws(&c);
	if (!add(p, NULL, 0, (gw_textpos_t){ 0, 0 }, here(&c)) || !walk(p, &c, root)) {
		gw_jsonpos_free(p);
		return NULL;
	}
	return p;
}

void gw_jsonpos_free(gw_jsonpos_t *p)
{
	if (!p)
		return;
	free(p->recs);
	free(p);
}

void gw_jsonpos_find(const gw_jsonpos_t *p, const json_t *parent, size_t index, gw_textpos_t *key,
		     gw_textpos_t *value)
{
	gw_textpos_t none = { 0, 0 };

	if (key)
		*key = none;
	if (value)
		*value = none;
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		if (p->recs[i].parent == parent && p->recs[i].index == index) {
			if (key)
				*key = p->recs[i].key;
			if (value)
				*value = p->recs[i].value;
			return;
		}
	}
}
