// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * config.c - libFuzzer target: any bytes as a config file through gw_config_parse(), as
 * `floodgate -t` and a reload read one. It must end in a config or in one error message,
 * never in a crash, a leak (LeakSanitizer), undefined behaviour or a hang (-timeout).
 * The seeds (tests/fuzz/corpus/config/) are configs of the tests and the demo.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gw/config.h"

#include "fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char err[GW_CONFIG_ERRLEN];
	gw_config_t *c;

	err[0] = '\0';
	/* a file in a directory that exists: relative paths resolve against it */
	c = gw_config_parse("/tmp/fg-fuzz.json", (const char *)data, size, err, sizeof(err));
	if (c) {
		gw_config_unref(c);
	} else if (!err[0] || strchr(err, '\n')) {
		abort(); /* a refused config has its one-line reason */
	}
	return 0;
}
