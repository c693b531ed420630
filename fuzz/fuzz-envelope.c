/* fuzz-envelope.c: libFuzzer target for the envelope codec (issue 13)
 *
 * An input that starts with the envelope magic is parsed as an envelope:
 * refused with a VMSTATE_ERROR and a message, or accepted with a header
 * consistent with its size; its payload (bounded to 1 MiB) is then
 * inflated and checked, and an accepted payload must re-encode to an
 * envelope that decodes to the same bytes, and, stored uncompressed, to
 * the very same input. vmstate_envelope_decode() must agree with the two
 * steps. Any other input is a payload: encoded with and without zstd, it
 * must decode back to itself, and never grow by more than the header.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <libvmstate/libvmstate.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-common.h"

#define MAX_PAYLOAD (1024 * 1024)

static void
check_round_trip (GBytes *payload, guint version, gboolean compress)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) env = vmstate_envelope_encode (payload, version, compress, &error);
  g_autoptr(GBytes) back = NULL;
  guint got = 0;

  CHECK (env != NULL && error == NULL);
  CHECK (vmstate_envelope_is_envelope (env));
  CHECK (g_bytes_get_size (env) <= g_bytes_get_size (payload) + VMSTATE_ENVELOPE_HEADER_SIZE);
  back = vmstate_envelope_decode (env, g_bytes_get_size (payload), &got, &error);
  CHECK (back != NULL && error == NULL);
  CHECK (got == version);
  CHECK (g_bytes_equal (back, payload));
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GBytes) input = g_bytes_new (data, size);
  g_autoptr(VmstateEnvelope) envelope = NULL;
  g_autoptr(GBytes) payload = NULL;
  g_autoptr(GBytes) decoded = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) decode_error = NULL;
  guint version = 0;

  if (!vmstate_envelope_is_envelope (input))
    {
      guint v = size > 0 ? data[0] + 1 : 1;

      check_round_trip (input, v, FALSE);
      check_round_trip (input, v, TRUE);
      envelope = vmstate_envelope_new_from_bytes (input, &error);
      CHECK (envelope == NULL);
      check_error (error, VMSTATE_ERROR);
      CHECK (error->code == VMSTATE_ERROR_NOT_ENVELOPE);
      return 0;
    }

  envelope = vmstate_envelope_new_from_bytes (input, &error);
  decoded = vmstate_envelope_decode (input, MAX_PAYLOAD, &version, &decode_error);
  if (envelope == NULL)
    {
      check_error (error, VMSTATE_ERROR);
      CHECK (decoded == NULL);
      CHECK (decode_error != NULL && decode_error->code == error->code);
      return 0;
    }
  CHECK (error == NULL);
  CHECK (vmstate_envelope_get_version (envelope) >= 1);
  CHECK (vmstate_envelope_get_stored_size (envelope) + VMSTATE_ENVELOPE_HEADER_SIZE == size);
  CHECK ((vmstate_envelope_get_flags (envelope) & ~VMSTATE_ENVELOPE_FLAGS_ZSTD) == 0);

  payload = vmstate_envelope_get_payload (envelope, MAX_PAYLOAD, &error);
  if (payload == NULL)
    {
      check_error (error, VMSTATE_ERROR);
      CHECK (decoded == NULL);
      CHECK (decode_error != NULL && decode_error->code == error->code);
      if (vmstate_envelope_get_payload_size (envelope) > MAX_PAYLOAD)
        CHECK (error->code == VMSTATE_ERROR_STATE_TOO_LARGE);
      return 0;
    }
  CHECK (decoded != NULL && decode_error == NULL);
  CHECK (g_bytes_equal (decoded, payload));
  CHECK (version == vmstate_envelope_get_version (envelope));
  CHECK (g_bytes_get_size (payload) == vmstate_envelope_get_payload_size (envelope));

  /* a smaller maximum refuses it */
  if (g_bytes_get_size (payload) > 0)
    {
      g_autoptr(GBytes) none = vmstate_envelope_get_payload (envelope, g_bytes_get_size (payload) - 1, &error);

      CHECK (none == NULL);
      check_error (error, VMSTATE_ERROR);
      CHECK (error->code == VMSTATE_ERROR_STATE_TOO_LARGE);
      g_clear_error (&error);
    }

  /* stored as it is, the encoding is canonical */
  if ((vmstate_envelope_get_flags (envelope) & VMSTATE_ENVELOPE_FLAGS_ZSTD) == 0)
    {
      g_autoptr(GBytes) again = vmstate_envelope_encode (payload, version, FALSE, &error);

      CHECK (again != NULL && g_bytes_equal (again, input));
    }
  check_round_trip (payload, version, TRUE);
  return 0;
}
