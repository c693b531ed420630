/* test-blob.c: the dbus-vmstate payload codec
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>
#include <sys/mman.h>

#include "vmstate-test-util.h"

static GBytes *
hex (const char *s)
{
  GByteArray *a = g_byte_array_new ();

  for (; *s; s++)
    {
      guint8 b;
      if (*s == ' ')
        continue;
      b = g_ascii_xdigit_value (s[0]) << 4 | g_ascii_xdigit_value (s[1]);
      g_byte_array_append (a, &b, 1);
      s++;
    }
  return g_byte_array_free_to_bytes (a);
}

static void
parse_fails (const char *h, int code, const char *must_contain)
{
  g_autoptr(GBytes) bytes = hex (h);
  g_autoptr(GError) error = NULL;
  g_autoptr(VmstateBlob) blob = vmstate_blob_new_from_bytes (bytes, &error);

  g_assert_null (blob);
  g_assert_error (error, VMSTATE_ERROR, code);
  g_test_message ("%s -> %s", h, error->message);
  if (must_contain)
    g_assert_nonnull (strstr (error->message, must_contain));
}

static void
test_known_bytes (void)
{
  g_autoptr(VmstateBlob) blob = vmstate_blob_new ();
  g_autoptr(GBytes) s1 = g_bytes_new_static ("xyz", 3);
  g_autoptr(GBytes) s2 = g_bytes_new_static ("", 0);
  g_autoptr(GBytes) out = NULL;
  g_autoptr(GBytes) expected = NULL;
  g_autoptr(GError) error = NULL;

  /* added out of order; written sorted */
  g_assert_true (vmstate_blob_add (blob, "b", s1, &error));
  g_assert_true (vmstate_blob_add (blob, "a", s2, &error));
  g_assert_no_error (error);
  out = vmstate_blob_to_bytes (blob);
  expected = hex ("00000002 00000001 61 00000000 00000001 62 00000003 78797a");
  g_assert_true (g_bytes_equal (out, expected));
  g_assert_cmpuint (vmstate_blob_get_size (blob), ==, g_bytes_get_size (expected));
}

static void
test_roundtrip_slices (void)
{
  g_autoptr(GBytes) bytes = hex ("00000002 00000001 61 00000002 0102 00000002 6262 00000000");
  g_autoptr(GError) error = NULL;
  g_autoptr(VmstateBlob) blob = vmstate_blob_new_from_bytes (bytes, &error);
  g_auto(GStrv) ids = NULL;
  GBytes *a;
  gsize len;
  const guint8 *base = g_bytes_get_data (bytes, &len);

  g_assert_no_error (error);
  g_assert_cmpuint (vmstate_blob_get_n_entries (blob), ==, 2);
  ids = vmstate_blob_get_ids (blob);
  g_assert_cmpstr (ids[0], ==, "a");
  g_assert_cmpstr (ids[1], ==, "bb");
  a = vmstate_blob_get_state (blob, "a");
  g_assert_cmpuint (g_bytes_get_size (a), ==, 2);
  /* a slice of the input, not a copy */
  g_assert_true ((const guint8 *) g_bytes_get_data (a, NULL) == base + 13);
  g_assert_cmpuint (g_bytes_get_size (vmstate_blob_get_state (blob, "bb")), ==, 0);
  g_assert_null (vmstate_blob_get_state (blob, "c"));
  {
    g_autoptr(GBytes) again = vmstate_blob_to_bytes (blob);
    g_assert_true (g_bytes_equal (again, bytes));
  }
  g_assert_true (vmstate_blob_remove (blob, "a"));
  g_assert_false (vmstate_blob_remove (blob, "a"));
  g_assert_cmpuint (vmstate_blob_get_size (blob), ==, 4 + 4 + 2 + 4);
}

static void
test_padding (void)
{
  /* QEMU: 16 bytes of state give a 32-byte payload, zero padded. */
  g_autoptr(GBytes) bytes = hex ("00000001 00000001 61 00000005 0102030405 00000000000000000000");
  g_autoptr(GError) error = NULL;
  g_autoptr(VmstateBlob) blob = vmstate_blob_new_from_bytes (bytes, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (vmstate_blob_get_n_entries (blob), ==, 1);
  parse_fails ("00000001 00000001 61 00000001 01 0000000001", VMSTATE_ERROR_INVALID_BLOB, "offset 18");
}

static void
test_errors (void)
{
  parse_fails ("", VMSTATE_ERROR_INVALID_BLOB, "too short");
  parse_fails ("000000", VMSTATE_ERROR_INVALID_BLOB, "too short");
  parse_fails ("ffffffff", VMSTATE_ERROR_INVALID_BLOB, "4294967295");
  parse_fails ("00000002 00000001 61 00000000 00000000000000000000", VMSTATE_ERROR_INVALID_BLOB, "holds only 1");
  parse_fails ("00000002 00000001 61 00000000 00000000 00000000 01", VMSTATE_ERROR_INVALID_ID, "entry 2");
  parse_fails ("00000002 00000001 61 00000000", VMSTATE_ERROR_INVALID_BLOB, "2 entries");
  parse_fails ("00000001 00000000 00000001 61", VMSTATE_ERROR_INVALID_ID, "empty");
  parse_fails ("00000001 00000100 00000000 00", VMSTATE_ERROR_INVALID_BLOB, "256");
  parse_fails ("00000001 00000002 6100 00000000", VMSTATE_ERROR_INVALID_ID, "NUL");
  parse_fails ("00000001 00000001 ff 00000000", VMSTATE_ERROR_INVALID_ID, "UTF-8");
  parse_fails ("00000001 00000001 61 00000005 0102", VMSTATE_ERROR_INVALID_BLOB, "'a'");
  parse_fails ("00000001 00000001 61 000000", VMSTATE_ERROR_INVALID_BLOB, "cannot hold");
  parse_fails ("00000001 00000005 6161616161 0000", VMSTATE_ERROR_INVALID_BLOB, "no state length");
  parse_fails ("00000002 00000001 61 00000000 00000001 61 00000000", VMSTATE_ERROR_DUPLICATE_ID, "'a'");
}

static void
test_add_errors (void)
{
  g_autoptr(VmstateBlob) blob = vmstate_blob_new ();
  g_autoptr(GBytes) s = g_bytes_new_static ("x", 1);
  g_autofree char *long_id = g_strnfill (256, 'x');
  g_autofree char *max_id = g_strnfill (255, 'x');
  g_autoptr(GError) error = NULL;

  g_assert_false (vmstate_blob_add (blob, "", s, &error));
  g_assert_error (error, VMSTATE_ERROR, VMSTATE_ERROR_INVALID_ID);
  g_clear_error (&error);
  g_assert_false (vmstate_blob_add (blob, long_id, s, &error));
  g_assert_error (error, VMSTATE_ERROR, VMSTATE_ERROR_INVALID_ID);
  /* the message shows 64 characters of it, and says it is longer */
  g_assert_nonnull (strstr (error->message, "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…'"));
  g_assert_null (strstr (error->message, long_id + 190));
  g_clear_error (&error);
  g_assert_false (vmstate_blob_add (blob, "\xff", s, &error));
  g_assert_error (error, VMSTATE_ERROR, VMSTATE_ERROR_INVALID_ID);
  g_clear_error (&error);
  g_assert_true (vmstate_blob_add (blob, max_id, s, &error));
  g_assert_no_error (error);
  g_assert_false (vmstate_blob_add (blob, max_id, s, &error));
  g_assert_error (error, VMSTATE_ERROR, VMSTATE_ERROR_DUPLICATE_ID);
  g_assert_nonnull (strstr (error->message, "xxxx…'"));
  g_assert_null (strstr (error->message, max_id + 190));
  g_assert_true (vmstate_blob_contains (blob, max_id));
}

/* vmstate_id_is_valid(): the contract the blob, the service and the
 * collector check, with the words they use */
static void
test_id_is_valid (void)
{
  g_autofree char *max_id = g_strnfill (255, 'x');
  g_autofree char *long_id = g_strnfill (256, 'x');
  const struct { const char *id; const char *why; } bad[] = {
    { "", "the Id is empty" },
    { long_id, "the Id is 256 bytes long (at most 255 are allowed)" },
    { "a\xff", "the Id is not valid UTF-8" },
  };

  g_assert_true (vmstate_id_is_valid (max_id, NULL));
  g_assert_true (vmstate_id_is_valid ("slirp.0", NULL));
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_false (vmstate_id_is_valid (bad[i].id, &error));
      g_assert_error (error, VMSTATE_ERROR, VMSTATE_ERROR_INVALID_ID);
      g_assert_nonnull (strstr (error->message, bad[i].why));
      g_assert_false (vmstate_id_is_valid (bad[i].id, NULL));
    }
}

/* A parse error about an entry shows a long Id cut, as every message */
static void
test_errors_cut_long_ids (void)
{
  g_autofree char *max_id = g_strnfill (255, 'x');
  g_autoptr(GByteArray) data = g_byte_array_new ();
  const guint8 two[] = { 0, 0, 0, 2 }, id_len[] = { 0, 0, 0, 255 }, empty[] = { 0, 0, 0, 0 };
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(VmstateBlob) blob = NULL;
  g_autoptr(GError) error = NULL;

  g_byte_array_append (data, two, 4);
  for (int i = 0; i < 2; i++)
    {
      g_byte_array_append (data, id_len, 4);
      g_byte_array_append (data, (const guint8 *) max_id, 255);
      g_byte_array_append (data, empty, 4);
    }
  bytes = g_byte_array_free_to_bytes (g_steal_pointer (&data));
  blob = vmstate_blob_new_from_bytes (bytes, &error);
  g_assert_null (blob);
  g_assert_error (error, VMSTATE_ERROR, VMSTATE_ERROR_DUPLICATE_ID);
  g_assert_nonnull (strstr (error->message, "entry 2 of 2"));
  g_assert_nonnull (strstr (error->message, "xxxx…'"));
  g_assert_null (strstr (error->message, max_id + 190));
}

static void
test_large (void)
{
  g_autoptr(VmstateBlob) blob = vmstate_blob_new ();
  g_autoptr(GBytes) big = test_make_state (8 * 1024 * 1024, 3);
  g_autoptr(GBytes) out = NULL;
  g_autoptr(VmstateBlob) parsed = NULL;
  g_autoptr(GError) error = NULL;

  for (int i = 0; i < 8; i++)
    {
      g_autofree char *id = g_strdup_printf ("h%d", i);
      g_assert_true (vmstate_blob_add (blob, id, big, &error));
    }
  out = vmstate_blob_to_bytes (blob);
  parsed = vmstate_blob_new_from_bytes (out, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (vmstate_blob_get_state (parsed, "h7"), big));
}

/* Sizes past 4 GiB without the memory: a GBytes over an anonymous
 * mapping that is reserved but never backed (MAP_NORESERVE) and that no
 * one may touch (PROT_NONE). A codec that copied or even read a byte of
 * it would crash the test. */
typedef struct
{
  void  *addr;
  gsize  len;
} Mapping;

static void
mapping_free (gpointer data)
{
  Mapping *m = data;

  g_assert_cmpint (munmap (m->addr, m->len), ==, 0);
  g_free (m);
}

static GBytes *
untouchable_bytes (gsize len)
{
  Mapping *m = g_new (Mapping, 1);

  m->len = len;
  m->addr = mmap (NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  g_assert_true (m->addr != MAP_FAILED);
  return g_bytes_new_with_free_func (m->addr, len, mapping_free, m);
}

#define GIB ((gsize) 1024 * 1024 * 1024)

/* The sum of many entries past 4 GiB: refused when the entry that
 * overflows it is added, before anything is copied. */
static void
test_size_total (void)
{
  g_autoptr(VmstateBlob) blob = vmstate_blob_new ();
  g_autoptr(GBytes) gib = untouchable_bytes (GIB);
  g_autoptr(GBytes) small = g_bytes_new_static ("x", 1);
  g_autoptr(GBytes) out = NULL;
  g_autoptr(GError) error = NULL;
  const char *ids[] = { "a", "b", "c" };

  /* the same GiB (untouched) under three Ids: 3 GiB + 4 + 3 x 9 */
  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      g_assert_true (vmstate_blob_add (blob, ids[i], gib, &error));
      g_assert_no_error (error);
    }
  g_assert_cmpuint (vmstate_blob_get_size (blob), ==, 3 * GIB + 4 + 3 * 9);

  /* a fourth GiB makes the payload 4 GiB + 40 bytes */
  g_assert_false (vmstate_blob_add (blob, "d", gib, &error));
  g_assert_error (error, VMSTATE_ERROR, VMSTATE_ERROR_STATE_TOO_LARGE);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "'d'"));
  g_clear_error (&error);
  g_assert_false (vmstate_blob_contains (blob, "d"));
  g_assert_cmpuint (vmstate_blob_get_n_entries (blob), ==, 3);
  g_assert_cmpuint (vmstate_blob_get_size (blob), ==, 3 * GIB + 4 + 3 * 9);

  /* the blob is still usable: with the big entries gone, it serializes */
  g_assert_true (vmstate_blob_remove (blob, "a"));
  g_assert_true (vmstate_blob_remove (blob, "b"));
  g_assert_true (vmstate_blob_remove (blob, "c"));
  g_assert_true (vmstate_blob_add (blob, "s", small, &error));
  g_assert_no_error (error);
  out = vmstate_blob_to_bytes (blob);
  g_assert_cmpuint (g_bytes_get_size (out), ==, 4 + 4 + 1 + 4 + 1);
}

#if GLIB_SIZEOF_SIZE_T > 4
/* One state of 5 GiB (only a 64-bit GBytes can be that large), and a
 * payload that fills the format exactly. */
static void
test_size_entry (void)
{
  g_autoptr(VmstateBlob) blob = vmstate_blob_new ();
  g_autoptr(GBytes) huge = untouchable_bytes (5 * GIB);
  g_autoptr(GBytes) exact = NULL;
  g_autoptr(GBytes) empty = g_bytes_new_static ("", 0);
  g_autoptr(VmstateBlob) parsed = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_false (vmstate_blob_add (blob, "huge", huge, &error));
  g_assert_error (error, VMSTATE_ERROR, VMSTATE_ERROR_STATE_TOO_LARGE);
  g_test_message ("%s", error->message);
  g_clear_error (&error);
  g_assert_cmpuint (vmstate_blob_get_n_entries (blob), ==, 0);
  g_assert_cmpuint (vmstate_blob_get_size (blob), ==, 4);

  /* a payload of 5 GiB is not one QEMU or to_bytes() wrote: refused
   * before a byte of it is read */
  parsed = vmstate_blob_new_from_bytes (huge, &error);
  g_assert_null (parsed);
  g_assert_error (error, VMSTATE_ERROR, VMSTATE_ERROR_STATE_TOO_LARGE);
  g_test_message ("%s", error->message);
  g_clear_error (&error);

  /* 4 (count) + 4 + 1 ("x") + 4 + state = G_MAXUINT32 exactly: fits... */
  exact = g_bytes_new_from_bytes (huge, 0, G_MAXUINT32 - 13);
  g_assert_true (vmstate_blob_add (blob, "x", exact, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (vmstate_blob_get_size (blob), ==, G_MAXUINT32);
  /* ...and not one more entry, even an empty one */
  g_assert_false (vmstate_blob_add (blob, "y", empty, &error));
  g_assert_error (error, VMSTATE_ERROR, VMSTATE_ERROR_STATE_TOO_LARGE);
  g_assert_cmpuint (vmstate_blob_get_size (blob), ==, G_MAXUINT32);
}
#endif

static void
test_error_domain (void)
{
  /* Codes survive a trip through the D-Bus error name. */
  g_autoptr(GError) error = g_error_new_literal (VMSTATE_ERROR, VMSTATE_ERROR_STATE_TOO_LARGE, "x");
  g_autofree char *name = g_dbus_error_encode_gerror (error);
  g_autoptr(GError) back = NULL;

  g_assert_cmpstr (name, ==, "org.libvmstate.Error.StateTooLarge");
  back = g_dbus_error_new_for_dbus_error (name, "x");
  g_assert_error (back, VMSTATE_ERROR, VMSTATE_ERROR_STATE_TOO_LARGE);
  g_assert_true (g_type_is_a (VMSTATE_TYPE_ERROR, G_TYPE_ENUM));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/blob/known-bytes", test_known_bytes);
  g_test_add_func ("/blob/roundtrip-slices", test_roundtrip_slices);
  g_test_add_func ("/blob/padding", test_padding);
  g_test_add_func ("/blob/errors", test_errors);
  g_test_add_func ("/blob/add-errors", test_add_errors);
  g_test_add_func ("/blob/errors/long-ids-cut", test_errors_cut_long_ids);
  g_test_add_func ("/id/is-valid", test_id_is_valid);
  g_test_add_func ("/blob/large", test_large);
  g_test_add_func ("/blob/size/total-over-4gib", test_size_total);
#if GLIB_SIZEOF_SIZE_T > 4
  g_test_add_func ("/blob/size/entry-over-4gib", test_size_entry);
#endif
  g_test_add_func ("/blob/error-domain", test_error_domain);

  return g_test_run ();
}
