/* vmstate-test-pattern.h: the deterministic state the helper program of
 * the tests and the benchmark (helper/vmstate-test-helper.c) saves
 *
 * The Python tests compute the same bytes (make_state() in
 * tests/cli/conftest.py and tests/interop/vmstate_interop.py).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

#define VMSTATE_TEST_PATTERN_NEXT(x) ((x) = (x) * 16777619u + 1, (guint8) ((x) >> 24))

static inline void
vmstate_test_pattern_fill (guint8 *data,
                           gsize   size,
                           int     seed)
{
  guint32 x = 2166136261u ^ (guint32) seed;

  for (gsize i = 0; i < size; i++)
    data[i] = VMSTATE_TEST_PATTERN_NEXT (x);
}

/* Compares without allocating. */
static inline gboolean
vmstate_test_pattern_matches (const guint8 *data,
                              gsize         size,
                              int           seed)
{
  guint32 x = 2166136261u ^ (guint32) seed;

  for (gsize i = 0; i < size; i++)
    if (data[i] != VMSTATE_TEST_PATTERN_NEXT (x))
      return FALSE;
  return TRUE;
}

static inline GBytes *
vmstate_test_pattern_new (gsize size,
                          int   seed)
{
  guint8 *data = g_malloc (size ? size : 1);

  vmstate_test_pattern_fill (data, size, seed);
  return g_bytes_new_take (data, size);
}
