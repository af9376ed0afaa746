/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * unit.h - what every host unit test includes: cmocka (whose headers need these first)
 * and a runner macro. tests/run.sh sets CMOCKA_MESSAGE_OUTPUT=TAP.
 */
#ifndef FG_TESTS_UNIT_H
#define FG_TESTS_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define FG_RUN_TESTS(tests) cmocka_run_group_tests(tests, NULL, NULL)

#endif
