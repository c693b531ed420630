/* vmstate-envelope.c: versioned, checksummed, compressed helper states
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/**
 * VmstateEnvelope:
 *
 * A helper's state in an envelope: versioned, checksummed and optionally
 * compressed with zstd.
 *
 * QEMU's protocol carries a helper's state as opaque bytes, at most 1 MiB,
 * with no version and no checksum. A [class@Vmstate.Service] whose
 * [property@Vmstate.Service:state-version] is set sends its state in an
 * envelope and checks the envelope of every state it is sent before its
 * `load` code runs (see [Evolving your state](evolving.html)). This class
 * is the same codec for everything that is not a service: tools (`vmstate
 * inspect` shows each entry's envelope), tests, or a helper that speaks
 * the protocol by other means.
 *
 * ## Format
 *
 * An envelope is a header of %VMSTATE_ENVELOPE_HEADER_SIZE (24) bytes,
 * all integers big-endian like the rest of the protocol, followed by the
 * stored payload:
 *
 * | offset | size | field |
 * |---:|---:|---|
 * | 0 | 4 | magic, the bytes `89 56 4d 53` (`\x89VMS`) |
 * | 4 | 2 | envelope format, %VMSTATE_ENVELOPE_FORMAT (1) |
 * | 6 | 2 | flags, [flags@Vmstate.EnvelopeFlags]; unknown bits are refused |
 * | 8 | 4 | the helper's state version, 1 or more (0 means a raw state) |
 * | 12 | 4 | the payload's length, uncompressed |
 * | 16 | 4 | the stored length: how many bytes follow the header |
 * | 20 | 4 | CRC-32C (Castagnoli) of the header's first 20 bytes, then of the uncompressed payload |
 *
 * The stored payload is the payload itself, or with
 * %VMSTATE_ENVELOPE_FLAGS_ZSTD its zstd compression, which is only used
 * when it is smaller. An envelope is exactly header plus stored length
 * bytes long: a reader refuses one that is shorter (truncated) or longer.
 *
 * ## Encoding and decoding
 *
 * [func@Vmstate.Envelope.encode] wraps a payload;
 * [func@Vmstate.Envelope.decode] checks an envelope completely and returns
 * its payload and version. To look at an envelope without trusting it,
 * [ctor@Vmstate.Envelope.new_from_bytes] checks only its structure and
 * gives its header's fields; [method@Vmstate.Envelope.get_payload] then
 * inflates the payload (bounded by a maximum size, so a small "bomb"
 * cannot allocate gigabytes) and verifies the checksum.
 *
 * In Python:
 *
 * ```python
 * data = Vmstate.Envelope.encode(GLib.Bytes(b"state"), 2, True)
 * payload, version = Vmstate.Envelope.decode(data, 64 << 20)
 * ```
 *
 * Since: 1.0
 */

#include "config.h"

#include <string.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "vmstate-crc32c-private.h"
#include "vmstate-error.h"
#include "vmstate-envelope.h"
#include "vmstate-envelope-private.h"
#include "vmstate-enums.h"

static const guint8 envelope_magic[4] = { 0x89, 'V', 'M', 'S' };

#define KNOWN_FLAGS (VMSTATE_ENVELOPE_FLAGS_ZSTD)
/* the header's bytes that the checksum covers before the payload */
#define CHECKED_HEADER_SIZE 20

G_STATIC_ASSERT (VMSTATE_ENVELOPE_HEADER_SIZE == CHECKED_HEADER_SIZE + 4);

struct _VmstateEnvelope
{
  GObject              parent_instance;

  GBytes              *data;
  guint                version;
  VmstateEnvelopeFlags flags;
  guint32              payload_size;
  guint32              stored_size;
  guint32              checksum;
};

enum {
  PROP_0,
  PROP_VERSION,
  PROP_FLAGS,
  PROP_PAYLOAD_SIZE,
  PROP_STORED_SIZE,
  PROP_CHECKSUM,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (VmstateEnvelope, vmstate_envelope, G_TYPE_OBJECT)

static void
vmstate_envelope_finalize (GObject *object)
{
  VmstateEnvelope *self = VMSTATE_ENVELOPE (object);

  g_clear_pointer (&self->data, g_bytes_unref);

  G_OBJECT_CLASS (vmstate_envelope_parent_class)->finalize (object);
}

static void
vmstate_envelope_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  VmstateEnvelope *self = VMSTATE_ENVELOPE (object);

  switch (prop_id)
    {
    case PROP_VERSION:
      g_value_set_uint (value, self->version);
      break;
    case PROP_FLAGS:
      g_value_set_flags (value, self->flags);
      break;
    case PROP_PAYLOAD_SIZE:
      g_value_set_uint64 (value, self->payload_size);
      break;
    case PROP_STORED_SIZE:
      g_value_set_uint64 (value, self->stored_size);
      break;
    case PROP_CHECKSUM:
      g_value_set_uint (value, self->checksum);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
vmstate_envelope_class_init (VmstateEnvelopeClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  (void) vmstate_error_quark ();

  object_class->finalize = vmstate_envelope_finalize;
  object_class->get_property = vmstate_envelope_get_property;

  /**
   * VmstateEnvelope:version: (getter get_version)
   *
   * The helper's state version the envelope carries, 1 or more.
   *
   * Since: 1.0
   */
  properties[PROP_VERSION] =
    g_param_spec_uint ("version", NULL, NULL, 0, G_MAXUINT32, 0,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * VmstateEnvelope:flags: (getter get_flags)
   *
   * The envelope's flags: whether the payload is stored compressed.
   *
   * Since: 1.0
   */
  properties[PROP_FLAGS] =
    g_param_spec_flags ("flags", NULL, NULL, VMSTATE_TYPE_ENVELOPE_FLAGS,
                        VMSTATE_ENVELOPE_FLAGS_NONE,
                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * VmstateEnvelope:payload-size: (getter get_payload_size)
   *
   * The payload's length once uncompressed, as the header gives it.
   *
   * Since: 1.0
   */
  properties[PROP_PAYLOAD_SIZE] =
    g_param_spec_uint64 ("payload-size", NULL, NULL, 0, G_MAXUINT32, 0,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * VmstateEnvelope:stored-size: (getter get_stored_size)
   *
   * How many bytes of (possibly compressed) payload follow the header.
   *
   * Since: 1.0
   */
  properties[PROP_STORED_SIZE] =
    g_param_spec_uint64 ("stored-size", NULL, NULL, 0, G_MAXUINT32, 0,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * VmstateEnvelope:checksum: (getter get_checksum)
   *
   * The CRC-32C the header gives, of its own first 20 bytes and of the
   * uncompressed payload.
   *
   * Since: 1.0
   */
  properties[PROP_CHECKSUM] =
    g_param_spec_uint ("checksum", NULL, NULL, 0, G_MAXUINT32, 0,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
vmstate_envelope_init (VmstateEnvelope *self)
{
}

static inline void
put_be16 (guint8 *p, guint16 v)
{
  p[0] = v >> 8;
  p[1] = v;
}

static inline void
put_be32 (guint8 *p, guint32 v)
{
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}

static inline guint16
get_be16 (const guint8 *p)
{
  return (guint16) (p[0] << 8 | p[1]);
}

static inline guint32
get_be32 (const guint8 *p)
{
  return (guint32) p[0] << 24 | (guint32) p[1] << 16 | (guint32) p[2] << 8 | p[3];
}

/**
 * vmstate_envelope_encode:
 * @payload: the state to wrap
 * @version: the helper's state version, 1 or more
 * @compress: whether to try compressing @payload with zstd (level 1);
 *   the envelope stores it compressed only when that is smaller
 * @error: return location for a #GError
 *
 * Wraps @payload in an envelope with @version and a checksum, compressed
 * when @compress is %TRUE and compression makes it smaller. This is what
 * a [class@Vmstate.Service] with a
 * [property@Vmstate.Service:state-version] sends for a `Save`.
 *
 * Fails with %VMSTATE_ERROR_STATE_TOO_LARGE for a payload of 4 GiB or
 * more, which the header cannot describe.
 *
 * Returns: (transfer full): the envelope, or %NULL with @error set
 *
 * Since: 1.0
 */
GBytes *
vmstate_envelope_encode (GBytes    *payload,
                         guint      version,
                         gboolean   compress,
                         GError   **error)
{
  gsize size;
  const guint8 *data;
  guint8 *out;
  gsize stored = 0;
  guint16 flags = 0;
  guint32 crc;

  g_return_val_if_fail (payload != NULL, NULL);
  g_return_val_if_fail (version > 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  data = g_bytes_get_data (payload, &size);
  if (size > G_MAXUINT32 - VMSTATE_ENVELOPE_HEADER_SIZE)
    {
      g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_STATE_TOO_LARGE,
                   "a state of %" G_GSIZE_FORMAT " bytes does not fit an envelope "
                   "(less than 4 GiB)", size);
      return NULL;
    }

  if (compress && size > 0)
    {
      /* Compress straight after the header, into room for the payload
       * stored as it is: a compression that does not fit is not smaller. */
      out = g_malloc (VMSTATE_ENVELOPE_HEADER_SIZE + size);
      stored = ZSTD_compress (out + VMSTATE_ENVELOPE_HEADER_SIZE, size - 1,
                              data, size, VMSTATE_ENVELOPE_ZSTD_LEVEL);
      if (ZSTD_isError (stored))
        stored = 0;  /* dstSize_tooSmall: store as it is */
      else
        flags = VMSTATE_ENVELOPE_FLAGS_ZSTD;
    }
  else
    out = g_malloc (VMSTATE_ENVELOPE_HEADER_SIZE + size);

  if (flags == 0)
    {
      stored = size;
      if (size > 0)
        memcpy (out + VMSTATE_ENVELOPE_HEADER_SIZE, data, size);
    }

  memcpy (out, envelope_magic, sizeof envelope_magic);
  put_be16 (out + 4, VMSTATE_ENVELOPE_FORMAT);
  put_be16 (out + 6, flags);
  put_be32 (out + 8, version);
  put_be32 (out + 12, size);
  put_be32 (out + 16, stored);
  crc = _vmstate_crc32c (0, out, CHECKED_HEADER_SIZE);
  crc = _vmstate_crc32c (crc, data, size);
  put_be32 (out + 20, crc);

  if (stored < size)
    out = g_realloc (out, VMSTATE_ENVELOPE_HEADER_SIZE + stored);
  return g_bytes_new_take (out, VMSTATE_ENVELOPE_HEADER_SIZE + stored);
}

/**
 * vmstate_envelope_is_envelope:
 * @data: a state
 *
 * Tells whether @data starts with an envelope's magic. It may still be a
 * malformed envelope: [ctor@Vmstate.Envelope.new_from_bytes] says.
 *
 * Returns: %TRUE if @data starts with the envelope magic
 *
 * Since: 1.0
 */
gboolean
vmstate_envelope_is_envelope (GBytes *data)
{
  gsize size;
  const guint8 *p;

  g_return_val_if_fail (data != NULL, FALSE);

  p = g_bytes_get_data (data, &size);
  return size >= sizeof envelope_magic &&
         memcmp (p, envelope_magic, sizeof envelope_magic) == 0;
}

/**
 * vmstate_envelope_new_from_bytes:
 * @data: an envelope
 * @error: return location for a #GError
 *
 * Reads the header of the envelope @data and checks its structure: the
 * magic (else %VMSTATE_ERROR_NOT_ENVELOPE), the format, the flags, a
 * version of 1 or more, and a length that is exactly the header's plus
 * its stored length (else %VMSTATE_ERROR_INVALID_ENVELOPE). It neither
 * inflates the payload nor checks the checksum:
 * [method@Vmstate.Envelope.get_payload] does.
 *
 * Returns: (transfer full): the envelope, or %NULL with @error set
 *
 * Since: 1.0
 */
VmstateEnvelope *
vmstate_envelope_new_from_bytes (GBytes  *data,
                                 GError **error)
{
  g_autoptr(VmstateEnvelope) self = NULL;
  const guint8 *p;
  gsize size;
  guint format;
  guint flags;

  g_return_val_if_fail (data != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!vmstate_envelope_is_envelope (data))
    {
      g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_NOT_ENVELOPE,
                   "not an envelope: %" G_GSIZE_FORMAT " bytes that do not start "
                   "with the envelope magic \\x89VMS", g_bytes_get_size (data));
      return NULL;
    }
  p = g_bytes_get_data (data, &size);
  if (size < VMSTATE_ENVELOPE_HEADER_SIZE)
    {
      g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_INVALID_ENVELOPE,
                   "truncated envelope: %" G_GSIZE_FORMAT " bytes, shorter than "
                   "its %d-byte header", size, VMSTATE_ENVELOPE_HEADER_SIZE);
      return NULL;
    }

  format = get_be16 (p + 4);
  if (format != VMSTATE_ENVELOPE_FORMAT)
    {
      g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_INVALID_ENVELOPE,
                   "envelope format %u is not known (this libvmstate reads format %d)",
                   format, VMSTATE_ENVELOPE_FORMAT);
      return NULL;
    }
  flags = get_be16 (p + 6);
  if ((flags & ~KNOWN_FLAGS) != 0)
    {
      g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_INVALID_ENVELOPE,
                   "envelope has unknown flags 0x%04x", flags & ~KNOWN_FLAGS);
      return NULL;
    }

  self = g_object_new (VMSTATE_TYPE_ENVELOPE, NULL);
  self->flags = flags;
  self->version = get_be32 (p + 8);
  self->payload_size = get_be32 (p + 12);
  self->stored_size = get_be32 (p + 16);
  self->checksum = get_be32 (p + 20);

  if (self->version == 0)
    {
      g_set_error_literal (error, VMSTATE_ERROR, VMSTATE_ERROR_INVALID_ENVELOPE,
                           "envelope has state version 0, which means a raw state");
      return NULL;
    }
  if (size - VMSTATE_ENVELOPE_HEADER_SIZE < self->stored_size)
    {
      g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_INVALID_ENVELOPE,
                   "truncated envelope: its header gives %u stored bytes, "
                   "only %" G_GSIZE_FORMAT " follow it",
                   self->stored_size, size - VMSTATE_ENVELOPE_HEADER_SIZE);
      return NULL;
    }
  if (size - VMSTATE_ENVELOPE_HEADER_SIZE > self->stored_size)
    {
      g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_INVALID_ENVELOPE,
                   "oversized envelope: %" G_GSIZE_FORMAT " bytes follow its "
                   "header, which gives %u stored bytes",
                   size - VMSTATE_ENVELOPE_HEADER_SIZE, self->stored_size);
      return NULL;
    }
  if ((flags & VMSTATE_ENVELOPE_FLAGS_ZSTD) != 0
      ? self->stored_size >= self->payload_size
      : self->stored_size != self->payload_size)
    {
      g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_INVALID_ENVELOPE,
                   "envelope stores %u bytes %s for a payload of %u bytes",
                   self->stored_size,
                   (flags & VMSTATE_ENVELOPE_FLAGS_ZSTD) ? "compressed" : "as they are",
                   self->payload_size);
      return NULL;
    }

  self->data = g_bytes_ref (data);
  return g_steal_pointer (&self);
}

/**
 * vmstate_envelope_get_version: (get-property version)
 * @self: a #VmstateEnvelope
 *
 * Gets the helper's state version that the envelope carries.
 *
 * Returns: the version, 1 or more
 *
 * Since: 1.0
 */
guint
vmstate_envelope_get_version (VmstateEnvelope *self)
{
  g_return_val_if_fail (VMSTATE_IS_ENVELOPE (self), 0);

  return self->version;
}

/**
 * vmstate_envelope_get_flags: (get-property flags)
 * @self: a #VmstateEnvelope
 *
 * Gets the envelope's flags.
 *
 * Returns: the flags
 *
 * Since: 1.0
 */
VmstateEnvelopeFlags
vmstate_envelope_get_flags (VmstateEnvelope *self)
{
  g_return_val_if_fail (VMSTATE_IS_ENVELOPE (self), 0);

  return self->flags;
}

/**
 * vmstate_envelope_get_payload_size: (get-property payload-size)
 * @self: a #VmstateEnvelope
 *
 * Gets the payload's uncompressed length, as the header gives it.
 *
 * Returns: the length in bytes
 *
 * Since: 1.0
 */
guint64
vmstate_envelope_get_payload_size (VmstateEnvelope *self)
{
  g_return_val_if_fail (VMSTATE_IS_ENVELOPE (self), 0);

  return self->payload_size;
}

/**
 * vmstate_envelope_get_stored_size: (get-property stored-size)
 * @self: a #VmstateEnvelope
 *
 * Gets how many bytes of stored payload follow the header (fewer than
 * the payload's length when it is compressed).
 *
 * Returns: the length in bytes
 *
 * Since: 1.0
 */
guint64
vmstate_envelope_get_stored_size (VmstateEnvelope *self)
{
  g_return_val_if_fail (VMSTATE_IS_ENVELOPE (self), 0);

  return self->stored_size;
}

/**
 * vmstate_envelope_get_checksum: (get-property checksum)
 * @self: a #VmstateEnvelope
 *
 * Gets the CRC-32C the header gives. Whether it matches is for
 * [method@Vmstate.Envelope.get_payload] to say.
 *
 * Returns: the checksum
 *
 * Since: 1.0
 */
guint
vmstate_envelope_get_checksum (VmstateEnvelope *self)
{
  g_return_val_if_fail (VMSTATE_IS_ENVELOPE (self), 0);

  return self->checksum;
}

/**
 * vmstate_envelope_get_payload:
 * @self: a #VmstateEnvelope
 * @max_payload_size: the largest payload to inflate, in bytes
 * @error: return location for a #GError
 *
 * Gets the envelope's payload, inflated if it is compressed, and checks it
 * against the checksum.
 *
 * A payload whose header gives more than @max_payload_size bytes is
 * refused with %VMSTATE_ERROR_STATE_TOO_LARGE before anything is
 * allocated, and a compressed payload that would inflate past the length
 * its header gives is stopped there (%VMSTATE_ERROR_INVALID_ENVELOPE):
 * memory is bounded by @max_payload_size whatever the input. A damaged
 * payload or header fails with %VMSTATE_ERROR_BAD_CHECKSUM.
 *
 * Returns: (transfer full): the payload, or %NULL with @error set
 *
 * Since: 1.0
 */
GBytes *
vmstate_envelope_get_payload (VmstateEnvelope  *self,
                              gsize             max_payload_size,
                              GError          **error)
{
  g_autoptr(GBytes) payload = NULL;
  const guint8 *header;
  const guint8 *stored;
  const guint8 *p;
  guint32 crc;

  g_return_val_if_fail (VMSTATE_IS_ENVELOPE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (self->payload_size > max_payload_size)
    {
      g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_STATE_TOO_LARGE,
                   "envelope holds a payload of %u bytes, more than the "
                   "maximum of %" G_GSIZE_FORMAT " bytes",
                   self->payload_size, max_payload_size);
      return NULL;
    }

  header = g_bytes_get_data (self->data, NULL);
  stored = header + VMSTATE_ENVELOPE_HEADER_SIZE;

  if ((self->flags & VMSTATE_ENVELOPE_FLAGS_ZSTD) != 0)
    {
      ZSTD_DCtx *dctx;
      guint8 *buffer;
      gsize n;

      /* A one-shot decompression into a flat buffer: zstd allocates no
       * window, and stops at the end of the buffer. */
      buffer = g_malloc (MAX (self->payload_size, 1));
      dctx = ZSTD_createDCtx ();
      if (dctx == NULL)
        g_error ("%s: out of memory", G_STRLOC);
      n = ZSTD_decompressDCtx (dctx, buffer, self->payload_size, stored, self->stored_size);
      ZSTD_freeDCtx (dctx);
      if (ZSTD_isError (n))
        {
          if (ZSTD_getErrorCode (n) == ZSTD_error_dstSize_tooSmall)
            g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_INVALID_ENVELOPE,
                         "envelope's compressed payload inflates to more than the "
                         "%u bytes its header gives; refused",
                         self->payload_size);
          else
            g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_INVALID_ENVELOPE,
                         "envelope's compressed payload is not valid zstd data: %s",
                         ZSTD_getErrorName (n));
          g_free (buffer);
          return NULL;
        }
      if (n != self->payload_size)
        {
          g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_INVALID_ENVELOPE,
                       "envelope's compressed payload inflates to %" G_GSIZE_FORMAT
                       " bytes, not the %u bytes its header gives",
                       n, self->payload_size);
          g_free (buffer);
          return NULL;
        }
      payload = g_bytes_new_take (buffer, self->payload_size);
    }
  else
    payload = g_bytes_new_from_bytes (self->data, VMSTATE_ENVELOPE_HEADER_SIZE,
                                      self->payload_size);

  p = g_bytes_get_data (payload, NULL);
  crc = _vmstate_crc32c (0, header, CHECKED_HEADER_SIZE);
  crc = _vmstate_crc32c (crc, p, self->payload_size);
  if (crc != self->checksum)
    {
      g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_BAD_CHECKSUM,
                   "bad checksum: the envelope (state version %u, %u bytes) gives "
                   "CRC-32C 0x%08x, its contents have 0x%08x: the state was damaged",
                   self->version, self->payload_size, self->checksum, crc);
      return NULL;
    }
  return g_steal_pointer (&payload);
}

/**
 * vmstate_envelope_decode:
 * @data: an envelope
 * @max_payload_size: the largest payload to inflate, in bytes
 * @version: (out) (optional): the helper's state version the envelope carries
 * @error: return location for a #GError
 *
 * Checks the envelope @data completely and unwraps it:
 * [ctor@Vmstate.Envelope.new_from_bytes] then
 * [method@Vmstate.Envelope.get_payload], with their errors.
 *
 * Returns: (transfer full): the payload, or %NULL with @error set
 *
 * Since: 1.0
 */
GBytes *
vmstate_envelope_decode (GBytes   *data,
                         gsize     max_payload_size,
                         guint    *version,
                         GError  **error)
{
  g_autoptr(VmstateEnvelope) envelope = NULL;
  GBytes *payload;

  g_return_val_if_fail (data != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  envelope = vmstate_envelope_new_from_bytes (data, error);
  if (envelope == NULL)
    return NULL;
  payload = vmstate_envelope_get_payload (envelope, max_payload_size, error);
  if (payload != NULL && version != NULL)
    *version = envelope->version;
  return payload;
}

/* The service's side (vmstate-envelope-private.h) */

GBytes *
_vmstate_envelope_wrap_for_service (GBytes                     *state,
                                    const VmstateEnvelopeRules *rules,
                                    GError                    **error)
{
  const char *id = rules->id, *unique_name = rules->unique_name;
  GBytes *envelope;
  GError *local_error = NULL;

  if (g_bytes_get_size (state) > rules->max_uncompressed_size)
    {
      g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_STATE_TOO_LARGE,
                   "helper '%s' (%s) has a state of %" G_GSIZE_FORMAT " bytes, more "
                   "than its max-uncompressed-size of %" G_GSIZE_FORMAT " bytes",
                   id, unique_name, g_bytes_get_size (state), rules->max_uncompressed_size);
      return NULL;
    }
  envelope = vmstate_envelope_encode (state, rules->state_version, rules->compress, &local_error);
  if (envelope == NULL)
    {
      g_set_error (error, local_error->domain, local_error->code,
                   "helper '%s' (%s): %s", id, unique_name, local_error->message);
      g_error_free (local_error);
    }
  return envelope;
}

GBytes *
_vmstate_envelope_unwrap_for_service (GBytes                     *data,
                                      const VmstateEnvelopeRules *rules,
                                      guint                      *version,
                                      GError                    **error)
{
  const char *id = rules->id, *unique_name = rules->unique_name;
  guint state_version = rules->state_version;
  guint min_state_version = rules->min_state_version;
  g_autoptr(VmstateEnvelope) envelope = NULL;
  g_autoptr(GError) local_error = NULL;
  GBytes *payload;

  if (min_state_version == 0 && !vmstate_envelope_is_envelope (data))
    {
      *version = 0;
      return g_bytes_ref (data);
    }

  envelope = vmstate_envelope_new_from_bytes (data, &local_error);
  if (envelope == NULL)
    {
      if (g_error_matches (local_error, VMSTATE_ERROR, VMSTATE_ERROR_NOT_ENVELOPE))
        g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_NOT_ENVELOPE,
                     "helper '%s' (%s) expects a state in an envelope (state "
                     "versions %u to %u) and was sent %" G_GSIZE_FORMAT " bytes "
                     "that are not one: a raw state, from a helper without a "
                     "state-version?", id, unique_name, MAX (min_state_version, 1),
                     state_version, g_bytes_get_size (data));
      else
        g_set_error (error, local_error->domain, local_error->code,
                     "helper '%s' (%s): %s", id, unique_name, local_error->message);
      return NULL;
    }

  if (envelope->version > state_version)
    {
      g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_VERSION_TOO_NEW,
                   "helper '%s' (%s) was sent a state of version %u, newer than "
                   "its state-version %u: saved by a newer helper",
                   id, unique_name, envelope->version, state_version);
      return NULL;
    }
  if (envelope->version < min_state_version)
    {
      g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_VERSION_TOO_OLD,
                   "helper '%s' (%s) was sent a state of version %u, older than "
                   "its min-state-version %u (its state-version is %u)",
                   id, unique_name, envelope->version, min_state_version, state_version);
      return NULL;
    }

  payload = vmstate_envelope_get_payload (envelope, rules->max_uncompressed_size, &local_error);
  if (payload == NULL)
    {
      if (g_error_matches (local_error, VMSTATE_ERROR, VMSTATE_ERROR_STATE_TOO_LARGE))
        g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_STATE_TOO_LARGE,
                     "helper '%s' (%s) was sent a state of version %u that inflates "
                     "to %u bytes, more than its max-uncompressed-size of %"
                     G_GSIZE_FORMAT " bytes; refused before inflating it",
                     id, unique_name, envelope->version, envelope->payload_size,
                     rules->max_uncompressed_size);
      else
        g_set_error (error, local_error->domain, local_error->code,
                     "helper '%s' (%s): %s", id, unique_name, local_error->message);
      return NULL;
    }
  *version = envelope->version;
  return payload;
}
