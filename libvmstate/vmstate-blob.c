/* vmstate-blob.c: the dbus-vmstate section payload codec
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/**
 * VmstateBlob:
 *
 * The payload of QEMU's `dbus-vmstate` migration section: the states of
 * every helper, keyed by helper Id.
 *
 * The format is big-endian:
 *
 * ```
 * be32 count
 * count x { be32 id_len | id bytes (no NUL) | be32 data_len | data }
 * ```
 *
 * [ctor@Vmstate.Blob.new_from_bytes] parses a blob strictly: a count that
 * does not match the entries, a length past the end, an Id of 0 or more
 * than 255 bytes, duplicate Ids or non-zero bytes after the last entry are
 * errors. Zero bytes after the last entry are accepted, because QEMU pads
 * the payload it writes with zeros. The states of a parsed blob are slices
 * of the input, not copies.
 *
 * [method@Vmstate.Blob.to_bytes] writes the entries sorted by Id (byte
 * order), without padding, so equal states always give equal bytes.
 *
 * A blob does not limit the size of one state beyond what the format
 * holds: every length is 32 bits, so a state, and the whole payload, must
 * be smaller than 4 GiB; [method@Vmstate.Blob.add] refuses an entry that
 * would make either too large, with %VMSTATE_ERROR_STATE_TOO_LARGE.
 * [class@Vmstate.Collector] applies its
 * [property@Vmstate.Collector:max-state-size] when it saves and loads.
 *
 * ## Example
 *
 * Print what a saved blob holds, and build one by hand:
 *
 * ```c
 * static gboolean
 * print_blob (GBytes *bytes, GError **error)
 * {
 *   g_autoptr(VmstateBlob) blob = vmstate_blob_new_from_bytes (bytes, error);
 *   g_auto(GStrv) ids = NULL;
 *
 *   if (blob == NULL)
 *     return FALSE;  // VMSTATE_ERROR_INVALID_BLOB, naming the offset
 *   ids = vmstate_blob_get_ids (blob);
 *   for (guint i = 0; ids[i] != NULL; i++)
 *     g_print ("%s: %" G_GSIZE_FORMAT " bytes\n", ids[i],
 *              g_bytes_get_size (vmstate_blob_get_state (blob, ids[i])));
 *   return TRUE;
 * }
 *
 * static GBytes *
 * make_blob (GBytes *counter_state, GError **error)
 * {
 *   g_autoptr(VmstateBlob) blob = vmstate_blob_new ();
 *
 *   if (!vmstate_blob_add (blob, "counter", counter_state, error))
 *     return NULL;
 *   return vmstate_blob_to_bytes (blob);
 * }
 * ```
 *
 * In Python: `Vmstate.Blob.new_from_bytes(GLib.Bytes(data))`,
 * `blob.get_ids()`, `blob.get_state(id).get_data()`. The
 * [collector guide](collector.html) shows where blobs come from;
 * `vmstate inspect FILE` prints one, or the `dbus-vmstate` section of a
 * QEMU migration stream, from the command line.
 *
 * Since: 1.0
 */

/**
 * VmstateBlobClass:
 * @parent_class: the parent class
 *
 * The class structure of #VmstateBlob, a final type: there is nothing to
 * override.
 *
 * Since: 1.0
 */

#include "config.h"

#include <string.h>

#include "vmstate-blob-private.h"
#include "vmstate-error.h"
#include "vmstate-util-private.h"

struct _VmstateBlob
{
  GObject     parent_instance;
  /* char *id -> GBytes *state */
  GHashTable *entries;
  gsize       payload_size;
};

G_DEFINE_FINAL_TYPE (VmstateBlob, vmstate_blob, G_TYPE_OBJECT)

/* The largest payload, and the largest state: QEMU's format, and its
 * migration stream, describe both with 32-bit lengths. It also fits a
 * gsize on 32-bit platforms, so a payload_size checked against it never
 * overflows. Every sum below is done in guint64 and checked against it
 * before anything is allocated or copied. */
#define PAYLOAD_MAX G_MAXUINT32

/* The bytes one entry takes in the payload, in 64 bits: its sum cannot
 * overflow whatever the platform's gsize. */
static inline guint64
entry_size (gsize id_len,
            gsize state_len)
{
  return 4 + (guint64) id_len + 4 + (guint64) state_len;
}

static void
vmstate_blob_finalize (GObject *object)
{
  VmstateBlob *self = VMSTATE_BLOB (object);

  g_hash_table_unref (self->entries);

  G_OBJECT_CLASS (vmstate_blob_parent_class)->finalize (object);
}

static void
vmstate_blob_class_init (VmstateBlobClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = vmstate_blob_finalize;
}

static void
vmstate_blob_init (VmstateBlob *self)
{
  self->entries = g_hash_table_new_full (g_str_hash, g_str_equal,
                                         g_free, (GDestroyNotify) g_bytes_unref);
  self->payload_size = 4;
}

/**
 * vmstate_blob_new:
 *
 * Creates an empty blob, to be filled with [method@Vmstate.Blob.add].
 *
 * Returns: (transfer full): a new #VmstateBlob
 *
 * Since: 1.0
 */
VmstateBlob *
vmstate_blob_new (void)
{
  return g_object_new (VMSTATE_TYPE_BLOB, NULL);
}

static inline guint32
read_be32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) |
         ((guint32) p[2] << 8) | (guint32) p[3];
}

static inline guint8 *
write_be32 (guint8 *p, guint32 v)
{
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
  return p + 4;
}

static gboolean
all_zero (const guint8 *p,
          gsize         len)
{
  for (gsize i = 0; i < len; i++)
    if (p[i] != 0)
      return FALSE;
  return TRUE;
}

/**
 * vmstate_blob_new_from_bytes:
 * @data: a `dbus-vmstate` section payload, as QEMU or
 *   [method@Vmstate.Blob.to_bytes] wrote it
 * @error: return location for a #GError
 *
 * Parses a blob. The parser is strict; see [class@Vmstate.Blob]. The
 * states of the returned blob are slices of @data (they keep a reference
 * to it and copy nothing).
 *
 * Returns: (transfer full): the parsed blob, or %NULL with @error set to
 *   a %VMSTATE_ERROR_INVALID_BLOB, %VMSTATE_ERROR_INVALID_ID or
 *   %VMSTATE_ERROR_DUPLICATE_ID error naming the entry and its offset,
 *   or to %VMSTATE_ERROR_STATE_TOO_LARGE if @data is 4 GiB or more (more
 *   than the format's 32-bit lengths can describe)
 *
 * Since: 1.0
 */
VmstateBlob *
vmstate_blob_new_from_bytes (GBytes  *data,
                             GError **error)
{
  g_autoptr(VmstateBlob) self = NULL;
  const guint8 *buf;
  gsize size;
  gsize pos;
  guint32 count;

  g_return_val_if_fail (data != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  buf = g_bytes_get_data (data, &size);

  /* QEMU stores the payload with a 32-bit length: anything larger did not
   * come from it, nor from to_bytes(). Refused before any byte is read,
   * which also keeps every offset and payload_size below 4 GiB. */
  if (size > PAYLOAD_MAX)
    {
      g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_STATE_TOO_LARGE,
                   "blob is %" G_GSIZE_FORMAT " bytes long, more than the %u "
                   "bytes a dbus-vmstate payload can hold", size, PAYLOAD_MAX);
      return NULL;
    }

  if (size < 4)
    {
      g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_INVALID_BLOB,
                   "blob is %" G_GSIZE_FORMAT " bytes long, too short for its "
                   "4-byte entry count", size);
      return NULL;
    }

  count = read_be32 (buf);
  pos = 4;

  /* Every entry takes at least 4 + 1 + 4 bytes: refuse a count the data
   * cannot possibly hold before looping on it. */
  if (count > (size - pos) / 9)
    {
      g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_INVALID_BLOB,
                   "blob claims %u entries but its %" G_GSIZE_FORMAT
                   " bytes cannot hold that many", count, size);
      return NULL;
    }

  self = vmstate_blob_new ();

  for (guint32 i = 0; i < count; i++)
    {
      g_autoptr(GError) local_error = NULL;
      gsize entry_pos = pos;
      guint32 id_len, data_len;
      const char *id;
      char *id_copy;

      if (size - pos < 4)
        {
          g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_INVALID_BLOB,
                       "blob is truncated: entry %u of %u (offset %" G_GSIZE_FORMAT
                       ") has no Id length", i + 1, count, entry_pos);
          return NULL;
        }
      id_len = read_be32 (buf + pos);
      pos += 4;
      if (id_len == 0 && all_zero (buf + entry_pos, size - entry_pos))
        {
          /* What QEMU 7.2 writes when a helper's Save failed: the count
           * includes the entry it skipped, and padding follows. */
          g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_INVALID_BLOB,
                       "blob claims %u entries but holds only %u: only zero "
                       "padding follows offset %" G_GSIZE_FORMAT
                       " (QEMU writes such a blob when a helper's Save failed)",
                       count, i, entry_pos);
          return NULL;
        }
      if (id_len > size - pos)
        {
          g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_INVALID_BLOB,
                       "blob is truncated: entry %u of %u (offset %" G_GSIZE_FORMAT
                       ") has an Id of %u bytes but only %" G_GSIZE_FORMAT
                       " bytes follow", i + 1, count, entry_pos, id_len, size - pos);
          return NULL;
        }
      id = (const char *) buf + pos;
      if (!_vmstate_check_id (id, id_len, &local_error))
        {
          g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_INVALID_ID,
                       "blob entry %u of %u (offset %" G_GSIZE_FORMAT "): %s",
                       i + 1, count, entry_pos, local_error->message);
          return NULL;
        }
      pos += id_len;
      id_copy = g_strndup (id, id_len);

      if (size - pos < 4)
        {
          g_autofree char *shown = _vmstate_abbreviate_id (id_copy);

          g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_INVALID_BLOB,
                       "blob is truncated: entry %u of %u (Id '%s', offset %"
                       G_GSIZE_FORMAT ") has no state length",
                       i + 1, count, shown, entry_pos);
          g_free (id_copy);
          return NULL;
        }
      data_len = read_be32 (buf + pos);
      pos += 4;
      if (data_len > size - pos)
        {
          g_autofree char *shown = _vmstate_abbreviate_id (id_copy);

          g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_INVALID_BLOB,
                       "blob is truncated: entry %u of %u (Id '%s', offset %"
                       G_GSIZE_FORMAT ") has a state of %u bytes but only %"
                       G_GSIZE_FORMAT " bytes follow",
                       i + 1, count, shown, entry_pos, data_len, size - pos);
          g_free (id_copy);
          return NULL;
        }
      if (g_hash_table_contains (self->entries, id_copy))
        {
          g_autofree char *shown = _vmstate_abbreviate_id (id_copy);

          g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_DUPLICATE_ID,
                       "blob entry %u of %u (offset %" G_GSIZE_FORMAT
                       ") repeats the Id '%s'", i + 1, count, entry_pos, shown);
          g_free (id_copy);
          return NULL;
        }

      g_hash_table_insert (self->entries, id_copy,
                           g_bytes_new_from_bytes (data, pos, data_len));
      self->payload_size += 8 + id_len + data_len;
      pos += data_len;
    }

  /* QEMU pads its payload with zeros up to its buffer's allocated size. */
  for (gsize i = pos; i < size; i++)
    {
      if (buf[i] != 0)
        {
          g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_INVALID_BLOB,
                       "blob has a non-zero byte at offset %" G_GSIZE_FORMAT
                       ", after its %u entries ended at offset %" G_GSIZE_FORMAT
                       " (only zero padding may follow them)", i, count, pos);
          return NULL;
        }
    }

  return g_steal_pointer (&self);
}

/**
 * vmstate_blob_add:
 * @self: a #VmstateBlob
 * @id: the helper's Id: 1 to 255 bytes of UTF-8
 * @state: the helper's state
 * @error: return location for a #GError
 *
 * Adds the state of the helper @id. @state is kept by reference, not
 * copied.
 *
 * Returns: %TRUE on success; %FALSE with @error set to
 *   %VMSTATE_ERROR_INVALID_ID, %VMSTATE_ERROR_DUPLICATE_ID, or
 *   %VMSTATE_ERROR_STATE_TOO_LARGE when @state, or the whole payload with
 *   it, would not fit the format's 32-bit lengths (4 GiB - 1 bytes)
 *
 * Since: 1.0
 */
gboolean
vmstate_blob_add (VmstateBlob  *self,
                  const char   *id,
                  GBytes       *state,
                  GError      **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *shown = NULL;   /* the Id in a message */
  gsize id_len;
  gsize state_len;

  g_return_val_if_fail (VMSTATE_IS_BLOB (self), FALSE);
  g_return_val_if_fail (id != NULL, FALSE);
  g_return_val_if_fail (state != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  id_len = strlen (id);
  state_len = g_bytes_get_size (state);
  if (!_vmstate_check_id (id, id_len, &local_error))
    {
      shown = _vmstate_abbreviate_id (id);
      g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_INVALID_ID,
                   "cannot add the state of helper '%s': %s", shown, local_error->message);
      return FALSE;
    }
  if (state_len > PAYLOAD_MAX)
    {
      shown = _vmstate_abbreviate_id (id);
      g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_STATE_TOO_LARGE,
                   "cannot add the state of helper '%s': %" G_GSIZE_FORMAT
                   " bytes do not fit a 32-bit length", shown, state_len);
      return FALSE;
    }
  if (self->payload_size + entry_size (id_len, state_len) > PAYLOAD_MAX)
    {
      shown = _vmstate_abbreviate_id (id);
      g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_STATE_TOO_LARGE,
                   "cannot add the state of helper '%s' (%" G_GSIZE_FORMAT
                   " bytes): the blob would be %" G_GUINT64_FORMAT " bytes, more "
                   "than the %u bytes a dbus-vmstate payload can hold",
                   shown, state_len, self->payload_size + entry_size (id_len, state_len),
                   PAYLOAD_MAX);
      return FALSE;
    }
  if (g_hash_table_contains (self->entries, id))
    {
      shown = _vmstate_abbreviate_id (id);
      g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_DUPLICATE_ID,
                   "the blob already holds a state for the Id '%s'", shown);
      return FALSE;
    }

  g_hash_table_insert (self->entries, g_strdup (id), g_bytes_ref (state));
  self->payload_size += entry_size (id_len, state_len);
  return TRUE;
}

/**
 * vmstate_blob_remove:
 * @self: a #VmstateBlob
 * @id: a helper Id
 *
 * Removes the state of the helper @id, if the blob has one.
 *
 * Returns: %TRUE if an entry was removed
 *
 * Since: 1.0
 */
gboolean
vmstate_blob_remove (VmstateBlob *self,
                     const char  *id)
{
  GBytes *state;

  g_return_val_if_fail (VMSTATE_IS_BLOB (self), FALSE);
  g_return_val_if_fail (id != NULL, FALSE);

  state = g_hash_table_lookup (self->entries, id);
  if (state == NULL)
    return FALSE;
  self->payload_size -= 8 + strlen (id) + g_bytes_get_size (state);
  return g_hash_table_remove (self->entries, id);
}

/**
 * vmstate_blob_contains:
 * @self: a #VmstateBlob
 * @id: a helper Id
 *
 * Checks whether the blob holds a state for @id.
 *
 * Returns: %TRUE if it does
 *
 * Since: 1.0
 */
gboolean
vmstate_blob_contains (VmstateBlob *self,
                       const char  *id)
{
  g_return_val_if_fail (VMSTATE_IS_BLOB (self), FALSE);
  g_return_val_if_fail (id != NULL, FALSE);

  return g_hash_table_contains (self->entries, id);
}

/**
 * vmstate_blob_get_state:
 * @self: a #VmstateBlob
 * @id: a helper Id
 *
 * Gets the state of the helper @id.
 *
 * Returns: (transfer none) (nullable): the state, or %NULL if the blob
 *   has none for @id
 *
 * Since: 1.0
 */
GBytes *
vmstate_blob_get_state (VmstateBlob *self,
                        const char  *id)
{
  g_return_val_if_fail (VMSTATE_IS_BLOB (self), NULL);
  g_return_val_if_fail (id != NULL, NULL);

  return g_hash_table_lookup (self->entries, id);
}

/**
 * vmstate_blob_get_n_entries:
 * @self: a #VmstateBlob
 *
 * Gets the number of entries (helper states) in the blob.
 *
 * Returns: the number of entries
 *
 * Since: 1.0
 */
guint
vmstate_blob_get_n_entries (VmstateBlob *self)
{
  g_return_val_if_fail (VMSTATE_IS_BLOB (self), 0);

  return g_hash_table_size (self->entries);
}

static int
compare_ids (gconstpointer a,
             gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/**
 * vmstate_blob_get_ids:
 * @self: a #VmstateBlob
 *
 * Gets the Ids of every entry, sorted in byte order.
 *
 * Returns: (transfer full) (array zero-terminated=1): the Ids
 *
 * Since: 1.0
 */
char **
vmstate_blob_get_ids (VmstateBlob *self)
{
  char **ids;
  guint n;

  g_return_val_if_fail (VMSTATE_IS_BLOB (self), NULL);

  ids = (char **) g_hash_table_get_keys_as_array (self->entries, &n);
  for (guint i = 0; i < n; i++)
    ids[i] = g_strdup (ids[i]);
  qsort (ids, n, sizeof (char *), compare_ids);
  return ids;
}

/**
 * vmstate_blob_get_size:
 * @self: a #VmstateBlob
 *
 * Gets the size in bytes of the payload [method@Vmstate.Blob.to_bytes]
 * would write.
 *
 * Returns: the size of the serialized blob
 *
 * Since: 1.0
 */
gsize
vmstate_blob_get_size (VmstateBlob *self)
{
  g_return_val_if_fail (VMSTATE_IS_BLOB (self), 0);

  return self->payload_size;
}

/*
 * _vmstate_blob_write:
 * @ids: the Ids, valid, unique and sorted in byte order
 * @states: (inout): the state of each Id
 * @n: the number of entries
 * @consume: whether to drop each state as soon as it is copied
 * @error: return location for a #GError
 *
 * Writes a payload: the layout is computed first, with every length
 * checked against the format's 32-bit limit, so a payload that cannot be
 * written fails with %VMSTATE_ERROR_STATE_TOO_LARGE before anything is
 * allocated or copied. Then the output is allocated once, at its exact
 * size, and each state copied into place, in order.
 *
 * With @consume, states[i] is unreffed and set to %NULL right after it
 * is copied, so a state that is its last reference (for the collector,
 * a helper's reply) is freed while the output fills instead of all of
 * them at the end. On failure @states are left as they were.
 *
 * Returns: (transfer full): the payload, or %NULL with @error set
 */
GBytes *
_vmstate_blob_write (const char * const  *ids,
                     GBytes             **states,
                     guint                n,
                     gboolean             consume,
                     GError             **error)
{
  guint64 size = 4;
  guint8 *buf, *p;

  for (guint i = 0; i < n; i++)
    {
      gsize state_len = g_bytes_get_size (states[i]);

      g_assert (i == 0 || strcmp (ids[i - 1], ids[i]) < 0);
      if (state_len > PAYLOAD_MAX)
        {
          g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_STATE_TOO_LARGE,
                       "the state of helper '%s' is %" G_GSIZE_FORMAT " bytes, "
                       "more than a 32-bit length can describe", ids[i], state_len);
          return NULL;
        }
      /* size <= PAYLOAD_MAX before the addition and the entry is below
       * 2^33: the sum cannot overflow 64 bits. */
      size += entry_size (strlen (ids[i]), state_len);
      if (size > PAYLOAD_MAX)
        {
          g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_STATE_TOO_LARGE,
                       "the states of %u helpers (up to '%s') take more than the "
                       "%u bytes a dbus-vmstate payload can hold",
                       i + 1, ids[i], PAYLOAD_MAX);
          return NULL;
        }
    }

  buf = g_malloc (size);
  p = write_be32 (buf, n);

  for (guint i = 0; i < n; i++)
    {
      gsize id_len = strlen (ids[i]);
      gsize state_len;
      gconstpointer state_data = g_bytes_get_data (states[i], &state_len);

      p = write_be32 (p, id_len);
      memcpy (p, ids[i], id_len);
      p += id_len;
      p = write_be32 (p, state_len);
      if (state_len > 0)
        memcpy (p, state_data, state_len);
      p += state_len;

      if (consume)
        g_clear_pointer (&states[i], g_bytes_unref);
    }

  g_assert ((guint64) (p - buf) == size);
  return g_bytes_new_take (buf, size);
}

/**
 * vmstate_blob_to_bytes:
 * @self: a #VmstateBlob
 *
 * Serializes the blob in QEMU's `dbus-vmstate` payload format, entries
 * sorted by Id, without padding.
 *
 * Returns: (transfer full): the payload
 *
 * Since: 1.0
 */
GBytes *
vmstate_blob_to_bytes (VmstateBlob *self)
{
  g_auto(GStrv) ids = NULL;
  g_autofree GBytes **states = NULL;
  guint n;
  GBytes *bytes;

  g_return_val_if_fail (VMSTATE_IS_BLOB (self), NULL);

  ids = vmstate_blob_get_ids (self);
  n = g_strv_length (ids);
  states = g_new (GBytes *, n);
  for (guint i = 0; i < n; i++)
    states[i] = g_hash_table_lookup (self->entries, ids[i]);

  /* add() and new_from_bytes() keep payload_size within PAYLOAD_MAX:
   * this cannot fail. */
  bytes = _vmstate_blob_write ((const char * const *) ids, states, n, FALSE, NULL);
  g_assert (bytes != NULL);
  return bytes;
}
