/* vmstate-stream.c: walking a QEMU migration stream to its dbus-vmstate section
 *
 * A QEMU (version 3) migration stream, as `migrate exec:cat>FILE` writes it:
 *
 *   "QEVM" be32 3
 *   0x07 configuration: be32 len, machine type name, [subsections]
 *   0x01 start   : be32 section_id, u8 len, idstr, be32 instance_id, be32 version_id, data
 *   0x02 part    : be32 section_id, data
 *   0x03 end     : be32 section_id, data
 *   0x04 full    : like start
 *   (each of these followed by the footer 0x7e be32 section_id)
 *   0x08 command : be16 cmd, be16 len, len bytes
 *   0x00 EOF
 *   0x06 be32 len, a JSON description of the full sections' fields
 *
 * Section data carries no length. Iterative sections ("ram") have their
 * own framing, which is parsed here; device (full) sections are stepped
 * over with the field sizes of the JSON description, which is why it is
 * located and parsed first. The dbus-vmstate section is read directly
 * (be32 data_size, then the blob), and checked against the description.
 * Anything the walker cannot step over honestly is an error naming the
 * section and its offset, never a guess.
 *
 * The file is untrusted (copied between hosts): the walk is linear in its
 * size. The description's devices are indexed once (sorted, then found
 * by binary search: a hash table of names chosen by the file's author
 * could be flooded), and the bytes of each one's fields added up once,
 * so a section is stepped over in one step, its fields looked at one by
 * one only to name the one that does not fit.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "vmstate-json.h"
#include "vmstate-tool.h"

#define QEMU_VM_FILE_MAGIC      0x5145564d
#define QEMU_VM_FILE_VERSION    0x00000003

#define QEMU_VM_EOF             0x00
#define QEMU_VM_SECTION_START   0x01
#define QEMU_VM_SECTION_PART    0x02
#define QEMU_VM_SECTION_END     0x03
#define QEMU_VM_SECTION_FULL    0x04
#define QEMU_VM_SUBSECTION      0x05
#define QEMU_VM_VMDESCRIPTION   0x06
#define QEMU_VM_CONFIGURATION   0x07
#define QEMU_VM_COMMAND         0x08
#define QEMU_VM_SECTION_FOOTER  0x7e

/* migration/ram.c (QEMU 7.2) */
#define RAM_SAVE_FLAG_ZERO           0x002
#define RAM_SAVE_FLAG_MEM_SIZE       0x004
#define RAM_SAVE_FLAG_PAGE           0x008
#define RAM_SAVE_FLAG_EOS            0x010
#define RAM_SAVE_FLAG_CONTINUE       0x020
#define RAM_SAVE_FLAG_XBZRLE         0x040
#define RAM_SAVE_FLAG_COMPRESS_PAGE  0x100

#define DBUS_VMSTATE_NAME "dbus-vmstate"

#define MAX_ITERATIVE_SECTIONS 1024

typedef struct
{
  const guint8 *buf;
  gsize         size;
  gsize         pos;
  gsize         end;     /* where sections stop: the JSON description */
  ToolJson     *vmdesc;
  GPtrArray    *devices; /* of Vmsd, sorted by (name, instance_id) */
  guint64       page_size;
  ToolInput    *input;
} Walker;

static gboolean
need (Walker     *w,
      gsize       n,
      const char *what,
      GError    **error)
{
  if (w->end - w->pos < n)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "the stream is truncated at offset %" G_GSIZE_FORMAT
                   " (0x%" G_GSIZE_MODIFIER "x): %s needs %" G_GSIZE_FORMAT
                   " bytes, %" G_GSIZE_FORMAT " are left",
                   w->pos, w->pos, what, n, w->end - w->pos);
      return FALSE;
    }
  return TRUE;
}

static gboolean
read_u8 (Walker *w, guint8 *v, const char *what, GError **error)
{
  if (!need (w, 1, what, error))
    return FALSE;
  *v = w->buf[w->pos++];
  return TRUE;
}

static gboolean
read_be16 (Walker *w, guint16 *v, const char *what, GError **error)
{
  if (!need (w, 2, what, error))
    return FALSE;
  *v = (w->buf[w->pos] << 8) | w->buf[w->pos + 1];
  w->pos += 2;
  return TRUE;
}

static guint32
get_be32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

static gboolean
read_be32 (Walker *w, guint32 *v, const char *what, GError **error)
{
  if (!need (w, 4, what, error))
    return FALSE;
  *v = get_be32 (w->buf + w->pos);
  w->pos += 4;
  return TRUE;
}

static gboolean
read_be64 (Walker *w, guint64 *v, const char *what, GError **error)
{
  guint32 hi, lo;

  if (!read_be32 (w, &hi, what, error) || !read_be32 (w, &lo, what, error))
    return FALSE;
  *v = ((guint64) hi << 32) | lo;
  return TRUE;
}

static gboolean
skip (Walker *w, guint64 n, const char *what, GError **error)
{
  if (n > G_MAXSIZE || !need (w, n, what, error))
    return FALSE;
  w->pos += n;
  return TRUE;
}

/* u8 length + that many bytes, as QEMU's idstr and subsection names */
static gboolean
read_short_string (Walker *w, char **out, const char *what, GError **error)
{
  guint8 len;

  if (!read_u8 (w, &len, what, error) || !need (w, len, what, error))
    return FALSE;
  *out = g_strndup ((const char *) w->buf + w->pos, len);
  w->pos += len;
  return TRUE;
}

static G_GNUC_PRINTF (3, 4) gboolean
invalid (GError    **error,
         gsize       offset,
         const char *format,
         ...)
{
  GError *local_error;
  va_list args;

  va_start (args, format);
  local_error = g_error_new_valist (G_IO_ERROR, G_IO_ERROR_INVALID_DATA, format, args);
  va_end (args);
  g_prefix_error (&local_error, "at offset %" G_GSIZE_FORMAT " (0x%" G_GSIZE_MODIFIER "x): ",
                  offset, offset);
  g_propagate_error (error, local_error);
  return FALSE;
}

/* What the walker needs of one vmstate description (a device, or one of
 * its subsections), read from the JSON once, before the walk. */
typedef struct
{
  ToolJson   *json;
  const char *name;          /* a device's section name; NULL for a subsection */
  guint32     instance_id;
  const char *vmsd_name;     /* NULL when missing */
  gboolean    has_version;
  guint64     version;
  gboolean    has_fields;
  gboolean    fields_valid;  /* every field has a size (and a good array_len) */
  guint64     fields_size;   /* their bytes in the stream, when valid */
  GPtrArray  *subsections;   /* of Vmsd; NULL when not an array */
} Vmsd;

static void
vmsd_free (Vmsd *vmsd)
{
  g_clear_pointer (&vmsd->subsections, g_ptr_array_unref);
  g_free (vmsd);
}

/* The bytes one field takes in the stream: size x array_len. */
static gboolean
field_size (ToolJson *field,
            guint64  *bytes)
{
  guint64 size, count = 1;

  if (!tool_json_get_uint (field, "size", &size))
    return FALSE;
  if (tool_json_get (field, "array_len") != NULL &&
      !tool_json_get_uint (field, "array_len", &count))
    return FALSE;
  if (count != 0 && size > G_MAXUINT64 / count)
    return FALSE;
  *bytes = size * count;
  return TRUE;
}

static Vmsd *
vmsd_new (ToolJson *json)
{
  Vmsd *vmsd = g_new0 (Vmsd, 1);
  ToolJson *fields = tool_json_get (json, "fields");
  ToolJson *subsections = tool_json_get (json, "subsections");

  vmsd->json = json;
  vmsd->vmsd_name = tool_json_get_string (json, "vmsd_name");
  vmsd->has_version = tool_json_get_uint (json, "version", &vmsd->version);
  vmsd->has_fields = fields != NULL;
  vmsd->fields_valid = TRUE;
  for (guint i = 0; fields != NULL && fields->type == TOOL_JSON_ARRAY && i < fields->items->len; i++)
    {
      guint64 bytes;

      if (!field_size (g_ptr_array_index (fields->items, i), &bytes) ||
          bytes > G_MAXUINT64 - vmsd->fields_size)
        {
          vmsd->fields_valid = FALSE;
          break;
        }
      vmsd->fields_size += bytes;
    }
  if (subsections != NULL && subsections->type == TOOL_JSON_ARRAY)
    {
      vmsd->subsections = g_ptr_array_new_full (subsections->items->len, (GDestroyNotify) vmsd_free);
      for (guint i = 0; i < subsections->items->len; i++)
        g_ptr_array_add (vmsd->subsections, vmsd_new (g_ptr_array_index (subsections->items, i)));
    }
  return vmsd;
}

static int
compare_devices (const Vmsd *a,
                 const char *name,
                 guint32     instance_id)
{
  int c = strcmp (a->name, name);

  if (c != 0)
    return c;
  return a->instance_id < instance_id ? -1 : a->instance_id > instance_id;
}

static int
sort_devices (gconstpointer a,
              gconstpointer b)
{
  const Vmsd *vb = *(Vmsd * const *) b;

  return compare_devices (*(Vmsd * const *) a, vb->name, vb->instance_id);
}

/* Indexes the description's devices by (name, instance_id), sorted: a
 * name never longer than a section name's 255 bytes, a binary search per
 * section. (A hash table of names chosen by whoever wrote the file could
 * be flooded with collisions; this cannot.) The first of duplicates wins,
 * as the sort is stable. */
static void
index_devices (Walker *w)
{
  ToolJson *devices = tool_json_get (w->vmdesc, "devices");

  w->devices = g_ptr_array_new_with_free_func ((GDestroyNotify) vmsd_free);
  for (guint i = 0; i < devices->items->len; i++)
    {
      ToolJson *device = g_ptr_array_index (devices->items, i);
      const char *name = tool_json_get_string (device, "name");
      guint64 instance;
      Vmsd *vmsd;

      if (name == NULL || strlen (name) > 255 ||
          !tool_json_get_uint (device, "instance_id", &instance) || instance > G_MAXUINT32)
        continue; /* no section can match it */
      vmsd = vmsd_new (device);
      vmsd->name = name;
      vmsd->instance_id = instance;
      g_ptr_array_add (w->devices, vmsd);
    }
  g_ptr_array_sort (w->devices, sort_devices);
}

static Vmsd *
find_device (Walker      *w,
             ToolSection *section)
{
  guint lo = 0, hi;

  if (w->devices == NULL)
    return NULL;
  /* the first device not before (name, instance_id) */
  hi = w->devices->len;
  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;

      if (compare_devices (g_ptr_array_index (w->devices, mid), section->name, section->instance_id) < 0)
        lo = mid + 1;
      else
        hi = mid;
    }
  if (lo < w->devices->len &&
      compare_devices (g_ptr_array_index (w->devices, lo), section->name, section->instance_id) == 0)
    return g_ptr_array_index (w->devices, lo);
  return NULL;
}

/* The JSON description is the last thing in the file: 0x06, be32 length,
 * that many bytes of JSON text, the end. JSON text never holds the byte
 * 0x06, so the marker is within the 5 bytes before the last 0x06 of the
 * file (itself, or one of the length's bytes can be 0x06): each
 * candidate there whose length reaches exactly to the end, and whose
 * text starts with '{', is tried, the earliest first. */
static gboolean
find_vmdesc (Walker  *w,
             GError **error)
{
  g_autoptr(GError) first_error = NULL;
  gsize last = w->size, i;
  guint32 len = 0;

  while (last > 0 && w->buf[last - 1] != QEMU_VM_VMDESCRIPTION)
    last--;
  if (last == 0)
    return TRUE;
  last--;

  for (i = last >= 4 ? last - 4 : 0; i <= last; i++)
    {
      g_autoptr(GError) local_error = NULL;

      if (w->buf[i] != QEMU_VM_VMDESCRIPTION || w->size - i <= 5)
        continue;
      len = get_be32 (w->buf + i + 1);
      if ((gsize) len != w->size - i - 5 || w->buf[i + 5] != '{')
        continue;
      w->vmdesc = tool_json_parse ((const char *) w->buf + i + 5, len, &local_error);
      if (w->vmdesc != NULL)
        break;
      if (first_error == NULL)
        {
          first_error = g_steal_pointer (&local_error);
          g_prefix_error (&first_error, "the stream's description at offset %" G_GSIZE_FORMAT
                          " is not valid: ", i);
        }
    }
  if (w->vmdesc == NULL && first_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&first_error));
      return FALSE;
    }
  if (w->vmdesc == NULL)
    return TRUE; /* no description: only sections that need none can be walked */

  if (w->vmdesc->type != TOOL_JSON_OBJECT ||
      tool_json_get (w->vmdesc, "devices") == NULL ||
      tool_json_get (w->vmdesc, "devices")->type != TOOL_JSON_ARRAY)
    return invalid (error, i, "the stream's JSON description has no \"devices\" array");
  if (!tool_json_get_uint (w->vmdesc, "page_size", &w->page_size) ||
      w->page_size == 0 || w->page_size > 1024 * 1024 ||
      (w->page_size & (w->page_size - 1)) != 0)
    return invalid (error, i, "the stream's JSON description has no valid \"page_size\"");
  w->input->vmdesc_offset = i;
  w->input->vmdesc_size = len;
  w->end = i;
  index_devices (w);
  return TRUE;
}

/* Steps over a description's fields one by one, to say which one is
 * wrong or does not fit: the error path of skip_vmsd(). */
static gboolean
skip_fields_one_by_one (Walker     *w,
                        Vmsd       *vmsd,
                        const char *section,
                        GError    **error)
{
  ToolJson *fields = tool_json_get (vmsd->json, "fields");

  for (guint i = 0; fields != NULL && fields->type == TOOL_JSON_ARRAY && i < fields->items->len; i++)
    {
      ToolJson *field = g_ptr_array_index (fields->items, i);
      const char *field_name = tool_json_get_string (field, "name");
      guint64 bytes;

      if (field_name == NULL)
        field_name = "?";
      if (!field_size (field, &bytes))
        return invalid (error, w->pos, "section '%s': field '%s' of the description has no "
                        "valid size (a whole number of bytes, times a whole array_len)",
                        section, field_name);
      if (w->end - w->pos < bytes)
        {
          g_autofree char *what = g_strdup_printf ("field '%s' of section '%s'", field_name, section);

          return need (w, bytes, what, error);
        }
      w->pos += bytes;
    }
  return TRUE;
}

/* Steps over the fields and subsections of one vmstate description. */
static gboolean
skip_vmsd (Walker     *w,
           Vmsd       *vmsd,
           const char *section,
           int         depth,
           GError    **error)
{
  if (depth > 32)
    return invalid (error, w->pos, "section '%s': subsections nested too deeply", section);

  if (vmsd->fields_valid && w->end - w->pos >= vmsd->fields_size)
    w->pos += vmsd->fields_size;
  else if (!skip_fields_one_by_one (w, vmsd, section, error))
    return FALSE;

  for (guint i = 0; vmsd->subsections != NULL && i < vmsd->subsections->len; i++)
    {
      Vmsd *sub = g_ptr_array_index (vmsd->subsections, i);
      g_autofree char *name = NULL;
      gsize offset = w->pos;
      guint32 stream_version;
      guint8 type;

      if (!read_u8 (w, &type, "a subsection marker", error))
        return FALSE;
      if (type != QEMU_VM_SUBSECTION)
        return invalid (error, offset, "section '%s': expected subsection '%s' (0x05), found 0x%02x",
                        section, sub->vmsd_name ? sub->vmsd_name : "?", type);
      if (!read_short_string (w, &name, "a subsection name", error) ||
          !read_be32 (w, &stream_version, "a subsection version", error))
        return FALSE;
      if (sub->vmsd_name == NULL || !g_str_equal (name, sub->vmsd_name))
        return invalid (error, offset, "section '%s': the stream has subsection '%s' where its "
                        "description has '%s'", section, name, sub->vmsd_name ? sub->vmsd_name : "?");
      if (sub->has_version && sub->version != stream_version)
        return invalid (error, offset, "section '%s': subsection '%s' is version %u in the "
                        "stream but %" G_GUINT64_FORMAT " in the description",
                        section, name, stream_version, sub->version);
      if (!skip_vmsd (w, sub, section, depth + 1, error))
        return FALSE;
    }
  return TRUE;
}

/* The payload of QEMU's dbus-vmstate vmsd: be32 data_size, then the blob. */
static gboolean
read_dbus_vmstate (Walker      *w,
                   ToolSection *section,
                   Vmsd        *device,
                   GError     **error)
{
  gsize offset = w->pos;
  guint32 data_size;

  if (section->version_id != 0)
    return invalid (error, section->offset, "section '%s' is version %u; this tool knows "
                    "version 0 of dbus-vmstate", section->name, section->version_id);
  if (!read_be32 (w, &data_size, "the dbus-vmstate data size", error))
    return FALSE;
  if (!need (w, data_size, "the dbus-vmstate data", error))
    return FALSE;

  if (device != NULL && !device->fields_valid)
    return invalid (error, offset, "section '%s': a field of the stream's description has no "
                    "valid size", section->name);
  if (device != NULL && device->fields_size != 4 + (guint64) data_size)
    return invalid (error, offset, "section '%s' holds %u bytes of data but the stream's "
                    "description says %" G_GUINT64_FORMAT, section->name,
                    4 + data_size, device->fields_size);

  g_ptr_array_add (w->input->payload_sections, section);
  g_ptr_array_add (w->input->payloads, g_bytes_new_from_bytes (w->input->file, w->pos, data_size));
  w->pos += data_size;
  return TRUE;
}

/* RAM sections have their own framing: be64 words whose low bits are
 * flags, until RAM_SAVE_FLAG_EOS. */
static gboolean
skip_ram (Walker      *w,
          ToolSection *section,
          GError     **error)
{
  guint64 page_size = w->page_size ? w->page_size : 4096;

  for (;;)
    {
      gsize offset = w->pos;
      guint64 word, flags, addr;

      if (!read_be64 (w, &word, "a RAM record", error))
        return FALSE;
      flags = word & (page_size - 1);
      addr = word & ~(page_size - 1);

      if (flags & RAM_SAVE_FLAG_MEM_SIZE)
        {
          guint64 total = addr;

          while (total > 0)
            {
              g_autofree char *block = NULL;
              guint64 length;

              if (!read_short_string (w, &block, "a RAM block name", error) ||
                  !read_be64 (w, &length, "a RAM block length", error))
                return FALSE;
              if (length > total)
                return invalid (error, offset, "RAM block '%s' is longer than the RAM size "
                                "(this tool does not know the postcopy-ram or "
                                "x-ignore-shared layouts)", block);
              total -= length;
            }
        }

      switch (flags & ~(guint64) (RAM_SAVE_FLAG_CONTINUE | RAM_SAVE_FLAG_MEM_SIZE | RAM_SAVE_FLAG_EOS))
        {
        case 0:
          break;
        case RAM_SAVE_FLAG_ZERO:
        case RAM_SAVE_FLAG_PAGE:
        case RAM_SAVE_FLAG_COMPRESS_PAGE:
        case RAM_SAVE_FLAG_XBZRLE:
          if (!(flags & RAM_SAVE_FLAG_CONTINUE))
            {
              g_autofree char *block = NULL;

              if (!read_short_string (w, &block, "a RAM block name", error))
                return FALSE;
            }
          if (flags & RAM_SAVE_FLAG_ZERO)
            {
              if (!skip (w, 1, "a zero page", error))
                return FALSE;
            }
          else if (flags & RAM_SAVE_FLAG_PAGE)
            {
              if (!skip (w, page_size, "a RAM page", error))
                return FALSE;
            }
          else if (flags & RAM_SAVE_FLAG_COMPRESS_PAGE)
            {
              guint32 len;

              if (!read_be32 (w, &len, "a compressed page length", error) ||
                  !skip (w, len, "a compressed page", error))
                return FALSE;
            }
          else
            {
              guint16 len;

              if (!skip (w, 1, "an XBZRLE flag", error) ||
                  !read_be16 (w, &len, "an XBZRLE length", error) ||
                  !skip (w, len, "an XBZRLE page", error))
                return FALSE;
            }
          break;
        default:
          return invalid (error, offset, "section '%s': unknown RAM record flags 0x%" G_GINT64_MODIFIER "x",
                          section->name ? section->name : "ram", flags);
        }

      if (flags & RAM_SAVE_FLAG_EOS)
        return TRUE;
    }
}

/* The configuration section (QEMU 7.2 vmstate_configuration). */
static gboolean
skip_configuration (Walker  *w,
                    GError **error)
{
  guint32 len;

  if (!read_be32 (w, &len, "the machine type length", error) ||
      !skip (w, len, "the machine type", error))
    return FALSE;

  while (w->pos < w->end && w->buf[w->pos] == QEMU_VM_SUBSECTION)
    {
      g_autofree char *name = NULL;
      gsize offset = w->pos;
      guint32 version;

      w->pos++;
      if (!read_short_string (w, &name, "a subsection name", error) ||
          !read_be32 (w, &version, "a subsection version", error))
        return FALSE;
      if (g_str_equal (name, "configuration/target-page-bits"))
        {
          if (!skip (w, 4, "target-page-bits", error))
            return FALSE;
        }
      else if (g_str_equal (name, "configuration/uuid"))
        {
          if (!skip (w, 16, "the VM's UUID", error))
            return FALSE;
        }
      else if (g_str_equal (name, "configuration/capabilities"))
        {
          guint32 count;

          if (!read_be32 (w, &count, "the capability count", error))
            return FALSE;
          for (guint32 i = 0; i < count; i++)
            {
              g_autofree char *cap = NULL;

              if (!read_short_string (w, &cap, "a capability", error))
                return FALSE;
            }
        }
      else
        return invalid (error, offset, "unknown configuration subsection '%s'", name);
    }
  return TRUE;
}

static void
tool_section_free (ToolSection *section)
{
  g_free (section->name);
  g_free (section);
}

static gboolean
is_dbus_vmstate (Vmsd        *device,
                 ToolSection *section)
{
  /* QEMU 7.2 names it "dbus-vmstate/dbus-vmstate"; go by the
   * description's vmsd_name when there is one. */
  if (device != NULL && device->vmsd_name != NULL)
    return g_str_equal (device->vmsd_name, DBUS_VMSTATE_NAME);
  return g_str_equal (section->name, DBUS_VMSTATE_NAME) ||
         g_str_has_suffix (section->name, "/" DBUS_VMSTATE_NAME);
}

static gboolean
walk (Walker  *w,
      GError **error)
{
  guint32 magic, version;
  /* iterative sections by section_id: their names, for part/end */
  g_autoptr(GHashTable) iterative = g_hash_table_new_full (NULL, NULL, NULL, g_free);

  if (!read_be32 (w, &magic, "the magic", error))
    return FALSE;
  if (magic != QEMU_VM_FILE_MAGIC)
    return invalid (error, 0, "not a QEMU migration stream (no QEVM magic)");
  if (!read_be32 (w, &version, "the stream version", error))
    return FALSE;
  if (version != QEMU_VM_FILE_VERSION)
    return invalid (error, 4, "migration stream version %u; this tool knows version 3", version);
  w->input->stream_version = version;

  if (!find_vmdesc (w, error))
    return FALSE;

  for (;;)
    {
      ToolSection *section = g_new0 (ToolSection, 1);
      Vmsd *device;
      guint8 type;

      section->offset = w->pos;
      g_ptr_array_add (w->input->sections, section);
      if (!read_u8 (w, &type, "a section type", error))
        return FALSE;
      section->type = type;

      switch (type)
        {
        case QEMU_VM_EOF:
          section->type_name = "eof";
          section->data_offset = w->pos;
          if (w->pos != w->end)
            return invalid (error, w->pos, "%" G_GSIZE_FORMAT " unexpected bytes after the "
                            "end-of-stream marker", w->end - w->pos);
          return TRUE;

        case QEMU_VM_CONFIGURATION:
          section->type_name = "configuration";
          section->data_offset = w->pos;
          if (!skip_configuration (w, error))
            return FALSE;
          section->data_size = w->pos - section->data_offset;
          continue; /* no footer */

        case QEMU_VM_COMMAND:
          {
            guint16 cmd, len;

            section->type_name = "command";
            if (!read_be16 (w, &cmd, "a command", error) ||
                !read_be16 (w, &len, "a command length", error))
              return FALSE;
            section->section_id = cmd;
            section->data_offset = w->pos;
            section->data_size = len;
            if (!skip (w, len, "a command's data", error))
              return FALSE;
          }
          continue; /* no footer */

        case QEMU_VM_SECTION_START:
        case QEMU_VM_SECTION_FULL:
          section->type_name = type == QEMU_VM_SECTION_START ? "start" : "full";
          section->has_header = TRUE;
          if (!read_be32 (w, &section->section_id, "a section id", error) ||
              !read_short_string (w, &section->name, "a section name", error) ||
              !read_be32 (w, &section->instance_id, "an instance id", error) ||
              !read_be32 (w, &section->version_id, "a version id", error))
            return FALSE;
          /* QEMU starts a few (one per iterative device); a bound keeps
           * crafted ids from flooding the table's buckets */
          if (type == QEMU_VM_SECTION_START &&
              g_hash_table_size (iterative) >= MAX_ITERATIVE_SECTIONS)
            return invalid (error, section->offset, "more than %u iterative sections start",
                            MAX_ITERATIVE_SECTIONS);
          if (type == QEMU_VM_SECTION_START)
            g_hash_table_insert (iterative, GUINT_TO_POINTER (section->section_id),
                                 g_strdup (section->name));
          break;

        case QEMU_VM_SECTION_PART:
        case QEMU_VM_SECTION_END:
          {
            const char *name;

            section->type_name = type == QEMU_VM_SECTION_PART ? "part" : "end";
            if (!read_be32 (w, &section->section_id, "a section id", error))
              return FALSE;
            name = g_hash_table_lookup (iterative, GUINT_TO_POINTER (section->section_id));
            if (name == NULL)
              return invalid (error, section->offset, "%s section for section id %u, which "
                              "did not start", section->type_name, section->section_id);
            section->name = g_strdup (name);
          }
          break;

        default:
          return invalid (error, section->offset, "unknown section type 0x%02x", type);
        }

      /* the section's data */
      section->data_offset = w->pos;
      device = type == QEMU_VM_SECTION_FULL ? find_device (w, section) : NULL;
      if (type == QEMU_VM_SECTION_FULL && is_dbus_vmstate (device, section))
        {
          if (!read_dbus_vmstate (w, section, device, error))
            return FALSE;
        }
      else if (type == QEMU_VM_SECTION_FULL)
        {
          if (device == NULL)
            return invalid (error, section->offset, "cannot step over section '%s': %s",
                            section->name, w->vmdesc ? "the stream's JSON description does not describe it"
                                                     : "the stream has no JSON description");
          if (!device->has_fields)
            return invalid (error, section->offset, "cannot step over section '%s': the stream's "
                            "JSON description has no fields for it", section->name);
          if (!skip_vmsd (w, device, section->name, 0, error))
            return FALSE;
        }
      else if (g_str_equal (section->name, "ram"))
        {
          if (!skip_ram (w, section, error))
            return FALSE;
        }
      else
        return invalid (error, section->offset, "cannot step over iterative section '%s': "
                        "this tool knows only 'ram'", section->name);
      section->data_size = w->pos - section->data_offset;

      /* the footer, when the machine type sends footers */
      if (w->pos < w->end && w->buf[w->pos] == QEMU_VM_SECTION_FOOTER)
        {
          gsize offset = w->pos;
          guint32 id;

          w->pos++;
          if (!read_be32 (w, &id, "a section footer", error))
            return FALSE;
          if (id != section->section_id)
            return invalid (error, offset, "section '%s' (id %u) ends with the footer of id %u "
                            "(the walk went wrong, or the stream is corrupt)",
                            section->name, section->section_id, id);
        }
    }
}

void
tool_input_free (ToolInput *input)
{
  if (input == NULL)
    return;
  g_clear_pointer (&input->file, g_bytes_unref);
  g_clear_pointer (&input->sections, g_ptr_array_unref);
  g_clear_pointer (&input->payload_sections, g_ptr_array_unref);
  g_clear_pointer (&input->payloads, g_ptr_array_unref);
  g_clear_pointer (&input->payload, g_bytes_unref);
  g_free (input);
}

ToolInput *
tool_input_parse_stream (GBytes  *file,
                         GError **error)
{
  g_autoptr(ToolInput) input = g_new0 (ToolInput, 1);
  g_autoptr(ToolJson) vmdesc = NULL;
  Walker w = { 0 };
  gboolean ok;

  input->kind = TOOL_INPUT_STREAM;
  input->file = g_bytes_ref (file);
  input->sections = g_ptr_array_new_with_free_func ((GDestroyNotify) tool_section_free);
  input->payload_sections = g_ptr_array_new ();
  input->payloads = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);

  w.buf = g_bytes_get_data (file, &w.size);
  w.end = w.size;
  w.input = input;
  ok = walk (&w, error);
  vmdesc = w.vmdesc;
  g_clear_pointer (&w.devices, g_ptr_array_unref);
  if (!ok)
    return NULL;

  if (input->payloads->len == 1)
    input->payload = g_bytes_ref (g_ptr_array_index (input->payloads, 0));
  return g_steal_pointer (&input);
}

void
tool_input_append_stream_json (GString   *out,
                               ToolInput *input)
{
  guint index = 0;

  g_string_append_printf (out, "{\"version\": %u, \"description_offset\": %" G_GSIZE_FORMAT
                          ", \"description_size\": %" G_GSIZE_FORMAT ", \"sections\": [",
                          input->stream_version, input->vmdesc_offset, input->vmdesc_size);
  for (guint i = 0; i < input->sections->len; i++)
    {
      ToolSection *section = g_ptr_array_index (input->sections, i);

      g_string_append_printf (out, "%s\n  {\"type\": \"%s\", \"offset\": %" G_GSIZE_FORMAT,
                              i ? "," : "", section->type_name, section->offset);
      if (section->name != NULL)
        {
          g_string_append (out, ", \"name\": ");
          tool_json_append_string (out, section->name);
          g_string_append_printf (out, ", \"section_id\": %u", section->section_id);
        }
      if (section->has_header)
        g_string_append_printf (out, ", \"instance_id\": %u, \"version_id\": %u",
                                section->instance_id, section->version_id);
      g_string_append_printf (out, ", \"data_offset\": %" G_GSIZE_FORMAT
                              ", \"data_size\": %" G_GSIZE_FORMAT "}",
                              section->data_offset, section->data_size);
    }
  g_string_append (out, "],\n  \"dbus_vmstate_section\": ");
  if (input->payload_sections->len == 1 &&
      g_ptr_array_find (input->sections, g_ptr_array_index (input->payload_sections, 0), &index))
    g_string_append_printf (out, "%u}", index);
  else
    g_string_append (out, "null}");
}

/* The whole file at @path ("-": standard input): mapped when it is a
 * regular file that can be, read into memory otherwise (a pipe, a
 * terminal, /dev/stdin, a file mmap() refuses). */
static GBytes *
read_whole_file (const char  *path,
                 const char  *shown,
                 GError     **error)
{
  g_autoptr(GByteArray) data = NULL;
  guint8 chunk[65536];
  struct stat st;
  int fd, saved_errno;

  fd = g_str_equal (path, "-") ? dup (STDIN_FILENO) : g_open (path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0)
    {
      saved_errno = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   "cannot open %s: %s", shown, g_strerror (saved_errno));
      return NULL;
    }
  if (fstat (fd, &st) == 0 && S_ISREG (st.st_mode) && st.st_size > 0)
    {
      g_autoptr(GMappedFile) mapped = g_mapped_file_new_from_fd (fd, FALSE, NULL);

      if (mapped != NULL)
        {
          close (fd);
          return g_mapped_file_get_bytes (mapped);
        }
    }

  data = g_byte_array_new ();
  for (;;)
    {
      gssize n = read (fd, chunk, sizeof chunk);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          saved_errno = errno;
          close (fd);
          g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                       "cannot read %s: %s", shown, g_strerror (saved_errno));
          return NULL;
        }
      if (n == 0)
        break;
      g_byte_array_append (data, chunk, n);
    }
  close (fd);
  return g_byte_array_free_to_bytes (g_steal_pointer (&data));
}

const char *
tool_input_shown_name (const char *path)
{
  return g_str_equal (path, "-") ? "standard input" : path;
}

ToolInput *
tool_input_read (const char  *path,
                 GError     **error)
{
  const char *shown = tool_input_shown_name (path);
  g_autoptr(GBytes) file = NULL;
  g_autoptr(GError) local_error = NULL;
  ToolInput *input;
  const guint8 *buf;
  gsize size;

  file = read_whole_file (path, shown, error);
  if (file == NULL)
    return NULL;
  buf = g_bytes_get_data (file, &size);

  if (size >= 4 && memcmp (buf, "QEVM", 4) == 0)
    {
      input = tool_input_parse_stream (file, &local_error);
      if (input == NULL)
        {
          g_set_error (error, local_error->domain, local_error->code,
                       "%s: bad QEMU migration stream: %s", shown, local_error->message);
          return NULL;
        }
      return input;
    }

  input = g_new0 (ToolInput, 1);
  input->kind = TOOL_INPUT_BLOB;
  input->file = g_bytes_ref (file);
  input->payloads = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  input->payload = g_bytes_ref (file);
  return input;
}
