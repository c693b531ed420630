/* fuzz-blob.c: libFuzzer target for the dbus-vmstate payload codec
 *
 * Parses the input as a blob. When it parses, checks the codec's
 * invariants: every Id is valid, the canonical bytes have the size the
 * blob reports, and they parse back to the same entries and serialize to
 * the same bytes again. When it does not, the error must be a
 * VMSTATE_ERROR with a message.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <libvmstate/libvmstate.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-common.h"

static void
check_same_entries (VmstateBlob *a,
                    VmstateBlob *b)
{
  g_auto(GStrv) ids_a = vmstate_blob_get_ids (a);
  g_auto(GStrv) ids_b = vmstate_blob_get_ids (b);

  CHECK (g_strv_equal ((const char * const *) ids_a, (const char * const *) ids_b));
  for (guint i = 0; ids_a[i] != NULL; i++)
    CHECK (g_bytes_equal (vmstate_blob_get_state (a, ids_a[i]),
                          vmstate_blob_get_state (b, ids_a[i])));
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GBytes) input = g_bytes_new (data, size);
  g_autoptr(GError) error = NULL;
  g_autoptr(VmstateBlob) blob = NULL;
  g_autoptr(VmstateBlob) again = NULL;
  g_autoptr(GBytes) out = NULL;
  g_autoptr(GBytes) out2 = NULL;
  g_auto(GStrv) ids = NULL;

  blob = vmstate_blob_new_from_bytes (input, &error);
  if (blob == NULL)
    {
      check_error (error, VMSTATE_ERROR);
      return 0;
    }
  CHECK (error == NULL);

  ids = vmstate_blob_get_ids (blob);
  CHECK (g_strv_length (ids) == vmstate_blob_get_n_entries (blob));
  for (guint i = 0; ids[i] != NULL; i++)
    {
      gsize len = strlen (ids[i]);

      CHECK (len >= 1 && len <= 255);
      CHECK (g_utf8_validate (ids[i], len, NULL));
      CHECK (vmstate_blob_contains (blob, ids[i]));
      CHECK (vmstate_blob_get_state (blob, ids[i]) != NULL);
    }

  /* The canonical form: no padding, so never longer than the input. */
  out = vmstate_blob_to_bytes (blob);
  CHECK (g_bytes_get_size (out) == vmstate_blob_get_size (blob));
  CHECK (g_bytes_get_size (out) <= size);

  again = vmstate_blob_new_from_bytes (out, &error);
  CHECK (error == NULL && again != NULL);
  check_same_entries (blob, again);
  out2 = vmstate_blob_to_bytes (again);
  CHECK (g_bytes_equal (out, out2));

  /* Removing an entry keeps the size bookkeeping right. */
  if (ids[0] != NULL)
    {
      g_autoptr(GBytes) smaller = NULL;

      CHECK (vmstate_blob_remove (again, ids[0]));
      CHECK (!vmstate_blob_contains (again, ids[0]));
      CHECK (!vmstate_blob_remove (again, ids[0]));
      smaller = vmstate_blob_to_bytes (again);
      CHECK (g_bytes_get_size (smaller) == vmstate_blob_get_size (again));
      /* ...and adding it back gives the canonical bytes again. */
      CHECK (vmstate_blob_add (again, ids[0], vmstate_blob_get_state (blob, ids[0]), NULL));
      g_clear_pointer (&out2, g_bytes_unref);
      out2 = vmstate_blob_to_bytes (again);
      CHECK (g_bytes_equal (out, out2));
      /* a duplicate is refused */
      CHECK (!vmstate_blob_add (again, ids[0], out, &error));
      CHECK (g_error_matches (error, VMSTATE_ERROR, VMSTATE_ERROR_DUPLICATE_ID));
    }

  return 0;
}
