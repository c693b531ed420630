/* test-envelope.c: VmstateEnvelope, the codec, and VmstateService's
 * versioned, checksummed, compressed states over a private bus (issue 13)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>
#include <zstd.h>

#include "vmstate-test-util.h"
#include "../libvmstate/vmstate-crc32c-private.h"
#include "../bench/vmstate-bench-conntrack.h"

#define MiB (1024 * 1024)

/* The codec */

static void
test_crc32c (void)
{
  static const guint8 zeros[32] = { 0 };
  guint8 ones[32];
  g_autoptr(GBytes) big = test_make_state (100003, 7);
  gsize size;
  const guint8 *data = g_bytes_get_data (big, &size);

  /* RFC 3720 (iSCSI) B.4 vectors and the usual check value */
  memset (ones, 0xff, sizeof ones);
  g_assert_cmphex (_vmstate_crc32c (0, "123456789", 9), ==, 0xE3069283);
  g_assert_cmphex (_vmstate_crc32c (0, zeros, 32), ==, 0x8A9136AA);
  g_assert_cmphex (_vmstate_crc32c (0, ones, 32), ==, 0x62A8AB43);
  g_assert_cmphex (_vmstate_crc32c_sw (0, "123456789", 9), ==, 0xE3069283);
  g_assert_cmphex (_vmstate_crc32c (0, "", 0), ==, 0);
  g_test_message ("CRC-32C uses %s", _vmstate_crc32c_is_hw () ? "SSE 4.2" : "slicing by 8");

  /* every alignment and split, both implementations, against bytewise */
  for (gsize off = 0; off < 9; off++)
    for (gsize len = 0; len < 70; len += 3)
      {
        guint32 one = _vmstate_crc32c (0, data + off, len);
        guint32 split = _vmstate_crc32c (_vmstate_crc32c (0, data + off, len / 3),
                                         data + off + len / 3, len - len / 3);
        guint32 bytewise = 0;

        for (gsize i = 0; i < len; i++)
          bytewise = _vmstate_crc32c_sw (bytewise, data + off + i, 1);
        g_assert_cmphex (one, ==, bytewise);
        g_assert_cmphex (split, ==, bytewise);
        g_assert_cmphex (_vmstate_crc32c_sw (0, data + off, len), ==, bytewise);
      }
  g_assert_cmphex (_vmstate_crc32c (0, data, size), ==, _vmstate_crc32c_sw (0, data, size));
}

static void
assert_round_trip (GBytes *payload, guint version, gboolean compress, gboolean expect_zstd)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) env = vmstate_envelope_encode (payload, version, compress, &error);
  g_autoptr(VmstateEnvelope) e = NULL;
  g_autoptr(GBytes) out = NULL;
  guint got_version = 0;

  g_assert_no_error (error);
  g_assert_true (vmstate_envelope_is_envelope (env));
  e = vmstate_envelope_new_from_bytes (env, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (vmstate_envelope_get_version (e), ==, version);
  g_assert_cmpuint (vmstate_envelope_get_payload_size (e), ==, g_bytes_get_size (payload));
  g_assert_cmpuint (vmstate_envelope_get_stored_size (e) + VMSTATE_ENVELOPE_HEADER_SIZE, ==,
                    g_bytes_get_size (env));
  g_assert_cmpint (!!(vmstate_envelope_get_flags (e) & VMSTATE_ENVELOPE_FLAGS_ZSTD), ==, expect_zstd);
  if (expect_zstd)
    g_assert_cmpuint (g_bytes_get_size (env), <, g_bytes_get_size (payload) + VMSTATE_ENVELOPE_HEADER_SIZE);
  out = vmstate_envelope_decode (env, g_bytes_get_size (payload), &got_version, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (got_version, ==, version);
  g_assert_true (g_bytes_equal (out, payload));
}

static void
test_round_trip (void)
{
  g_autoptr(GBytes) empty = g_bytes_new_static ("", 0);
  g_autoptr(GBytes) small = g_bytes_new_static ("state!", 6);
  g_autoptr(GBytes) random = test_make_state (100000, 3);
  g_autoptr(GBytes) table = bench_conntrack_table (300000, 1);

  assert_round_trip (empty, 1, FALSE, FALSE);
  assert_round_trip (empty, 1, TRUE, FALSE);
  assert_round_trip (small, 2, FALSE, FALSE);
  assert_round_trip (small, 2, TRUE, FALSE);       /* zstd would not be smaller */
  assert_round_trip (random, 7, TRUE, FALSE);      /* incompressible: stored as it is */
  assert_round_trip (table, G_MAXUINT32, FALSE, FALSE);
  assert_round_trip (table, 3, TRUE, TRUE);
}

/* The exact bytes of a small envelope: the format is a contract. */
static void
test_layout (void)
{
  static const guint8 expected_header[] = {
    0x89, 'V', 'M', 'S', 0, 1, 0, 0, 0, 0, 0, 2, 0, 0, 0, 6, 0, 0, 0, 6,
  };
  g_autoptr(GBytes) small = g_bytes_new_static ("state!", 6);
  g_autoptr(GBytes) env = vmstate_envelope_encode (small, 2, FALSE, NULL);
  const guint8 *p = g_bytes_get_data (env, NULL);
  guint32 crc = _vmstate_crc32c (_vmstate_crc32c (0, p, 20), "state!", 6);

  g_assert_cmpuint (g_bytes_get_size (env), ==, 30);
  g_assert_cmpmem (p, 20, expected_header, sizeof expected_header);
  g_assert_cmphex ((guint32) p[20] << 24 | p[21] << 16 | p[22] << 8 | p[23], ==, crc);
  g_assert_cmpmem (p + 24, 6, "state!", 6);
}

static GBytes *
patched (GBytes *env, gsize offset, guint8 value)
{
  gsize size;
  guint8 *copy = g_bytes_unref_to_data (g_bytes_ref (env), &size);

  copy[offset] = value;
  return g_bytes_new_take (copy, size);
}

static void
put_be32 (guint8 *p, guint32 v)
{
  p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

/* A header (with the right checksum of the header alone) in front of
 * @stored: how the bombs are made. */
static GBytes *
forge (guint16 flags, guint32 version, guint32 payload_size, GBytes *stored)
{
  gsize n = g_bytes_get_size (stored);
  guint8 *p = g_malloc (24 + n);

  memcpy (p, "\x89VMS\0\1", 6);
  p[6] = flags >> 8;
  p[7] = flags;
  put_be32 (p + 8, version);
  put_be32 (p + 12, payload_size);
  put_be32 (p + 16, n);
  put_be32 (p + 20, _vmstate_crc32c (0, p, 20));
  memcpy (p + 24, g_bytes_get_data (stored, NULL), n);
  return g_bytes_new_take (p, 24 + n);
}

static void
assert_decode_fails (GBytes *data, int code, const char *words)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) out = vmstate_envelope_decode (data, 64 * MiB, NULL, &error);

  g_assert_null (out);
  g_assert_error (error, VMSTATE_ERROR, code);
  if (words != NULL && strstr (error->message, words) == NULL)
    g_error ("'%s' not in '%s'", words, error->message);
}

static void
test_errors (void)
{
  g_autoptr(GBytes) table = bench_conntrack_table (100000, 2);
  g_autoptr(GBytes) env = vmstate_envelope_encode (table, 2, TRUE, NULL);
  g_autoptr(GBytes) plain = vmstate_envelope_encode (table, 2, FALSE, NULL);
  gsize size = g_bytes_get_size (env);
  g_autoptr(GBytes) raw = g_bytes_new_static ("state!", 6);
  g_autoptr(GBytes) longer = NULL;
  g_autoptr(GError) error = NULL;

  assert_decode_fails (raw, VMSTATE_ERROR_NOT_ENVELOPE, "not an envelope");
  g_assert_false (vmstate_envelope_is_envelope (raw));

  /* every truncation is refused, none crashes */
  for (gsize n = 0; n < size; n += (n < 64 ? 1 : 997))
    {
      g_autoptr(GBytes) part = g_bytes_new_from_bytes (env, 0, n);

      assert_decode_fails (part, n < 4 ? VMSTATE_ERROR_NOT_ENVELOPE : VMSTATE_ERROR_INVALID_ENVELOPE,
                           n < 4 ? NULL : "truncated");
    }
  {
    gsize n;
    guint8 *p = g_bytes_unref_to_data (g_bytes_ref (env), &n);

    p = g_realloc (p, n + 1);
    p[n] = 0;
    longer = g_bytes_new_take (p, n + 1);
  }
  assert_decode_fails (longer, VMSTATE_ERROR_INVALID_ENVELOPE, "oversized");

  /* header fields */
  {
    g_autoptr(GBytes) f = patched (env, 5, 2);
    g_autoptr(GBytes) fl = patched (env, 6, 0x80);
    g_autoptr(GBytes) v0 = forge (0, 0, 6, raw);
    g_autoptr(GBytes) not_smaller = forge (VMSTATE_ENVELOPE_FLAGS_ZSTD, 1, 6, raw);
    g_autoptr(GBytes) bad_zstd = forge (VMSTATE_ENVELOPE_FLAGS_ZSTD, 1, 100, raw);

    assert_decode_fails (f, VMSTATE_ERROR_INVALID_ENVELOPE, "format 2");
    assert_decode_fails (fl, VMSTATE_ERROR_INVALID_ENVELOPE, "unknown flags");
    assert_decode_fails (v0, VMSTATE_ERROR_INVALID_ENVELOPE, "version 0");
    assert_decode_fails (not_smaller, VMSTATE_ERROR_INVALID_ENVELOPE, "compressed");
    assert_decode_fails (bad_zstd, VMSTATE_ERROR_INVALID_ENVELOPE, "zstd");
  }

  /* damage: the payload, stored as it is or compressed, and the header's
   * version (covered by the checksum too) */
  {
    g_autoptr(GBytes) p1 = patched (plain, 24 + 5000, 'X');
    g_autoptr(GBytes) v = patched (env, 11, 3);
    g_autoptr(GBytes) c = patched (env, 5, 0);  /* format 0 */

    assert_decode_fails (p1, VMSTATE_ERROR_BAD_CHECKSUM, "bad checksum");
    assert_decode_fails (v, VMSTATE_ERROR_BAD_CHECKSUM, "version 3");
    assert_decode_fails (c, VMSTATE_ERROR_INVALID_ENVELOPE, NULL);
    /* the CRC itself */
    {
      g_autoptr(GBytes) k = patched (env, 23, ((const guint8 *) g_bytes_get_data (env, NULL))[23] ^ 1);

      assert_decode_fails (k, VMSTATE_ERROR_BAD_CHECKSUM, NULL);
    }
  }

  /* the maximum */
  g_assert_null (vmstate_envelope_decode (env, 99999, NULL, &error));
  g_assert_error (error, VMSTATE_ERROR, VMSTATE_ERROR_STATE_TOO_LARGE);
  g_clear_error (&error);
  {
    g_autoptr(GBytes) ok = vmstate_envelope_decode (env, 100000, NULL, &error);

    g_assert_no_error (error);
    g_assert_true (g_bytes_equal (ok, table));
  }
}

static gsize
vm_hwm_kib (void)
{
  g_autofree char *status = NULL;
  const char *line;

  g_assert_true (g_file_get_contents ("/proc/self/status", &status, NULL, NULL));
  line = strstr (status, "VmHWM:");
  g_assert_nonnull (line);
  return g_ascii_strtoull (line + 6, NULL, 10);
}

/* zstd frames that inflate to @total bytes of zeros, made without ever
 * holding them: one frame of 1 MiB, repeated. */
static GBytes *
zstd_bomb (gsize total)
{
  g_autofree guint8 *zeros = g_malloc0 (MiB);
  guint8 frame[256];
  gsize n = ZSTD_compress (frame, sizeof frame, zeros, MiB, 1);
  GByteArray *out = g_byte_array_new ();

  g_assert_false (ZSTD_isError (n));
  for (gsize done = 0; done < total; done += MiB)
    g_byte_array_append (out, frame, n);
  return g_byte_array_free_to_bytes (out);
}

static void
test_bomb (void)
{
  g_autoptr(GBytes) bomb = zstd_bomb (1024u * MiB);
  g_autoptr(GBytes) tiny = zstd_bomb (MiB);
  g_autoptr(GBytes) claims = forge (VMSTATE_ENVELOPE_FLAGS_ZSTD, 1, 1024u * MiB, tiny);
  g_autoptr(GBytes) lies = forge (VMSTATE_ENVELOPE_FLAGS_ZSTD, 1, 2 * MiB, bomb);
  g_autoptr(GBytes) truthful = forge (VMSTATE_ENVELOPE_FLAGS_ZSTD, 1, 1024u * MiB, bomb);
  gsize hwm_before;
  gint64 start, elapsed;

  g_test_message ("bombs: %" G_GSIZE_FORMAT " bytes claiming 1 GiB; %" G_GSIZE_FORMAT
                  " bytes inflating to 1 GiB", g_bytes_get_size (claims), g_bytes_get_size (lies));
  hwm_before = vm_hwm_kib ();
  start = g_get_monotonic_time ();

  /* claims 1 GiB: refused before allocating anything */
  assert_decode_fails (claims, VMSTATE_ERROR_STATE_TOO_LARGE, "more than the maximum");
  /* claims 2 MiB, inflates to 1 GiB: stopped at 2 MiB */
  assert_decode_fails (lies, VMSTATE_ERROR_INVALID_ENVELOPE, "inflates to more than");
  /* says 1 GiB truthfully: over the default maximum of a service */
  assert_decode_fails (truthful, VMSTATE_ERROR_STATE_TOO_LARGE, NULL);

  elapsed = g_get_monotonic_time () - start;
  g_test_message ("refused in %.2f ms, VmHWM %" G_GSIZE_FORMAT " -> %" G_GSIZE_FORMAT " KiB",
                  elapsed / 1000.0, hwm_before, vm_hwm_kib ());
  g_assert_cmpint (elapsed, <, 500 * 1000);   /* a few ms; generous for valgrind */
  g_assert_cmpuint (vm_hwm_kib () - hwm_before, <, 16 * 1024);
}

/* The service over a private bus */

/* The fixture's service saves and loads envelopes of version 2. */
static void
fixture_setup (ServiceBus *f, gconstpointer data)
{
  service_bus_setup (f, data);
  vmstate_service_set_state_version (VMSTATE_SERVICE (f->service), 2);
}

static void
test_service_raw_default (ServiceBus *f, gconstpointer data)
{
  g_autoptr(VmstateService) s = g_object_new (TEST_TYPE_SERVICE, "id", "raw", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) state = NULL;

  g_assert_cmpuint (vmstate_service_get_state_version (s), ==, 0);
  g_assert_cmpuint (vmstate_service_get_min_state_version (s), ==, 1);
  g_assert_false (vmstate_service_get_compress (s));
  g_assert_cmpuint (vmstate_service_get_max_uncompressed_size (s), ==, 64 * MiB);

  /* with state-version 0 the state goes out and comes in byte for byte */
  vmstate_service_set_state_version (VMSTATE_SERVICE (f->service), 0);
  state = service_bus_save (f, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (state, NULL), g_bytes_get_size (state), "state!", 6);
  {
    g_autoptr(GBytes) magic = vmstate_envelope_encode (state, 1, FALSE, NULL);

    /* even an envelope is a raw state to a raw helper */
    g_assert_true (service_bus_load (f, magic, &error));
    g_assert_no_error (error);
    g_assert_true (g_bytes_equal (f->service->loaded, magic));
    g_assert_cmpuint (f->service->loaded_version, ==, 0);
  }
}

static void
test_service_save_load (ServiceBus *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) state = service_bus_save (f, &error);
  g_autoptr(GBytes) payload = NULL;
  guint version = 0;

  g_assert_no_error (error);
  g_assert_true (vmstate_envelope_is_envelope (state));
  payload = vmstate_envelope_decode (state, 100, &version, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (version, ==, 2);
  g_assert_cmpmem (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload), "state!", 6);

  g_assert_true (service_bus_load (f, state, &error));
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (f->service->loaded, payload));
  g_assert_cmpuint (f->service->loaded_version, ==, 2);
  g_assert_cmpuint (vmstate_service_get_loading_version (VMSTATE_SERVICE (f->service)), ==, 0);

  /* an older version within range reaches load, which learns it */
  {
    g_autoptr(GBytes) v1 = vmstate_envelope_encode (payload, 1, FALSE, NULL);

    g_assert_true (service_bus_load (f, v1, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (f->service->loaded_version, ==, 1);
  }
}

/* A 4.5 MB conntrack-like table goes under QEMU's 1 MiB limit. */
static void
test_service_compress (ServiceBus *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) state = NULL;
  g_autoptr(VmstateEnvelope) e = NULL;
  gint64 start;

  g_clear_pointer (&f->service->state, g_bytes_unref);
  f->service->state = bench_conntrack_table (4500000, 1);

  /* without compression it is too large, and the error says why */
  service_bus_save_fails (f, VMSTATE_ERROR, VMSTATE_ERROR_STATE_TOO_LARGE,
                          "'svc'", "4500000 bytes", "enveloped", "max-state-size", NULL);

  vmstate_service_set_compress (VMSTATE_SERVICE (f->service), TRUE);
  start = g_get_monotonic_time ();
  state = service_bus_save (f, &error);
  g_assert_no_error (error);
  g_test_message ("4.5 MB table: Save in %.1f ms, %" G_GSIZE_FORMAT " bytes (%.2f x)",
                  (g_get_monotonic_time () - start) / 1000.0, g_bytes_get_size (state),
                  4500000.0 / g_bytes_get_size (state));
  g_assert_cmpuint (g_bytes_get_size (state), <=, MiB);
  g_assert_cmpuint (g_bytes_get_size (state) * 4, <=, 4500000);
  e = vmstate_envelope_new_from_bytes (state, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (vmstate_envelope_get_flags (e), ==, VMSTATE_ENVELOPE_FLAGS_ZSTD);

  g_assert_true (service_bus_load (f, state, &error));
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (f->service->loaded, f->service->state));

  /* over max-uncompressed-size, both ways */
  vmstate_service_set_max_uncompressed_size (VMSTATE_SERVICE (f->service), 4000000);
  service_bus_load_fails (f, state, VMSTATE_ERROR, VMSTATE_ERROR_STATE_TOO_LARGE,
                          "'svc'", g_dbus_connection_get_unique_name (f->server), "4500000 bytes",
                          "max-uncompressed-size", NULL);
  service_bus_save_fails (f, VMSTATE_ERROR, VMSTATE_ERROR_STATE_TOO_LARGE,
                          "max-uncompressed-size", NULL);
}

static void
test_service_load_errors (ServiceBus *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) payload = g_bytes_new_static ("state!", 6);
  g_autoptr(GBytes) v3 = vmstate_envelope_encode (payload, 3, FALSE, NULL);
  g_autoptr(GBytes) v1 = vmstate_envelope_encode (payload, 1, FALSE, NULL);
  g_autoptr(GBytes) v2 = vmstate_envelope_encode (payload, 2, FALSE, NULL);
  g_autoptr(GBytes) damaged = patched (v2, 26, 'X');
  g_autoptr(GBytes) truncated = g_bytes_new_from_bytes (v2, 0, 29);
  const char *unique = g_dbus_connection_get_unique_name (f->server);

  service_bus_load_fails (f, payload, VMSTATE_ERROR, VMSTATE_ERROR_NOT_ENVELOPE,
                          "'svc'", unique, "not one", NULL);

  service_bus_load_fails (f, v3, VMSTATE_ERROR, VMSTATE_ERROR_VERSION_TOO_NEW,
                          "'svc'", unique, "version 3", "state-version 2", NULL);

  vmstate_service_set_state_version (VMSTATE_SERVICE (f->service), 4);
  vmstate_service_set_min_state_version (VMSTATE_SERVICE (f->service), 2);
  service_bus_load_fails (f, v1, VMSTATE_ERROR, VMSTATE_ERROR_VERSION_TOO_OLD,
                          "'svc'", unique, "version 1", "min-state-version 2", NULL);

  service_bus_load_fails (f, damaged, VMSTATE_ERROR, VMSTATE_ERROR_BAD_CHECKSUM,
                          "'svc'", unique, "checksum", NULL);

  service_bus_load_fails (f, truncated, VMSTATE_ERROR, VMSTATE_ERROR_INVALID_ENVELOPE,
                          "'svc'", "truncated", NULL);

  /* none of them reached the vfunc */
  g_assert_cmpuint (f->service->n_load, ==, 0);

  /* min-state-version 0: a raw state is version 0 */
  vmstate_service_set_min_state_version (VMSTATE_SERVICE (f->service), 0);
  g_assert_true (service_bus_load (f, payload, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (f->service->loaded_version, ==, 0);
  g_assert_true (service_bus_load (f, v3, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (f->service->loaded_version, ==, 3);
}

static void
test_service_bomb (ServiceBus *f, gconstpointer data)
{
  g_autoptr(GBytes) tiny = zstd_bomb (MiB);
  g_autoptr(GBytes) claims = forge (VMSTATE_ENVELOPE_FLAGS_ZSTD, 2, 1024u * MiB, tiny);
  g_autoptr(GBytes) bomb = zstd_bomb (64u * MiB);   /* 1 GiB would not fit max-state-size */
  g_autoptr(GBytes) lies = forge (VMSTATE_ENVELOPE_FLAGS_ZSTD, 2, 32 * MiB, bomb);
  gsize hwm = vm_hwm_kib ();

  service_bus_load_fails (f, claims, VMSTATE_ERROR, VMSTATE_ERROR_STATE_TOO_LARGE,
                          "'svc'", "1073741824 bytes", "refused before inflating", NULL);
  service_bus_load_fails (f, lies, VMSTATE_ERROR, VMSTATE_ERROR_INVALID_ENVELOPE,
                          "'svc'", "inflates to more than", NULL);
  g_assert_cmpuint (f->service->n_load, ==, 0);
  /* the one buffer of 32 MiB (untouched pages past what inflated) at most */
  g_assert_cmpuint (vm_hwm_kib () - hwm, <, 40 * 1024);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/envelope/crc32c", test_crc32c);
  g_test_add_func ("/envelope/round-trip", test_round_trip);
  g_test_add_func ("/envelope/layout", test_layout);
  g_test_add_func ("/envelope/errors", test_errors);
  g_test_add_func ("/envelope/bomb", test_bomb);

#define ADD(path, func) \
  g_test_add (path, ServiceBus, NULL, fixture_setup, func, service_bus_teardown)

  ADD ("/envelope/service/raw-default", test_service_raw_default);
  ADD ("/envelope/service/save-load", test_service_save_load);
  ADD ("/envelope/service/compress", test_service_compress);
  ADD ("/envelope/service/load-errors", test_service_load_errors);
  ADD ("/envelope/service/bomb", test_service_bomb);

  return g_test_run ();
}
