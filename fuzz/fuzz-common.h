/* fuzz-common.h: what every libFuzzer target here shares
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* An invariant: when it does not hold, say which and abort (a finding). */
#define CHECK(cond) do { if (!(cond)) { g_printerr ("%s:%d: invariant failed: %s\n", \
                                                  __FILE__, __LINE__, #cond); abort (); } } while (0)

/* A refusal: an error of @domain with a message. */
static inline void
check_error (const GError *error,
             GQuark        domain)
{
  CHECK (error != NULL);
  CHECK (error->domain == domain);
  CHECK (error->message != NULL && error->message[0] != '\0');
}
