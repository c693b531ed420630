/* vmstate-inspect.c: vmstate inspect
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmstate-json.h"
#include "vmstate-tool.h"

static gboolean opt_json;
static char *opt_extract;
static int opt_preview = 64;

static const GOptionEntry inspect_entries[] = {
  { "json", 'j', 0, G_OPTION_ARG_NONE, &opt_json, "Print JSON", NULL },
  { "extract", 'x', 0, G_OPTION_ARG_FILENAME, &opt_extract,
    "Write each state to a file in DIR (created if needed), named after its Id", "DIR" },
  { "preview", 'p', 0, G_OPTION_ARG_INT, &opt_preview,
    "Show the first BYTES bytes of each state as hex and ASCII (default 64, 0 for none)", "BYTES" },
  { NULL }
};

/* An Id is 1..255 bytes of UTF-8 chosen by a helper: never trust it as a
 * path. */
static char *
id_to_filename (const char *id)
{
  GString *name = g_string_new (NULL);

  for (const char *p = id; *p != '\0'; p++)
    {
      guchar c = *p;

      if (g_ascii_isalnum (c) || c == '_' || c == '-' || (c == '.' && p != id))
        g_string_append_c (name, c);
      else
        g_string_append_printf (name, "%%%02X", c);
    }
  return g_string_free (name, FALSE);
}

/* Issue 13: a state in a libvmstate envelope. Payloads larger than this
 * are described but not inflated. */
#define INSPECT_MAX_PAYLOAD (1024u * 1024 * 1024)

typedef struct
{
  VmstateEnvelope *envelope;   /* NULL: not an envelope, or a malformed one */
  GError          *error;      /* why it is malformed or does not check */
  double           ratio;
} InspectEnvelope;

static void
inspect_envelope (GBytes          *state,
                  InspectEnvelope *e)
{
  g_autoptr(GBytes) payload = NULL;

  memset (e, 0, sizeof *e);
  if (!vmstate_envelope_is_envelope (state))
    return;
  e->envelope = vmstate_envelope_new_from_bytes (state, &e->error);
  if (e->envelope == NULL)
    return;
  payload = vmstate_envelope_get_payload (e->envelope, INSPECT_MAX_PAYLOAD, &e->error);
  e->ratio = (double) vmstate_envelope_get_payload_size (e->envelope) /
             MAX (vmstate_envelope_get_stored_size (e->envelope), 1);
}

static void
inspect_envelope_clear (InspectEnvelope *e)
{
  g_clear_object (&e->envelope);
  g_clear_error (&e->error);
}

static void
print_envelope_text (GString         *out,
                     GBytes          *state,
                     InspectEnvelope *e)
{
  VmstateEnvelope *env = e->envelope;
  g_autofree char *message = NULL;

  if (env == NULL && e->error == NULL)
    return;
  if (e->error != NULL)
    message = tool_escape_text (e->error->message);
  if (env == NULL)
    {
      g_string_append_printf (out, "    envelope: malformed: %s\n", message);
      return;
    }
  g_string_append_printf (out, "    envelope: state version %u, %" G_GUINT64_FORMAT " bytes of payload",
                          vmstate_envelope_get_version (env),
                          vmstate_envelope_get_payload_size (env));
  if (vmstate_envelope_get_flags (env) & VMSTATE_ENVELOPE_FLAGS_ZSTD)
    g_string_append_printf (out, ", zstd %" G_GUINT64_FORMAT " bytes (%.2f x)",
                            vmstate_envelope_get_stored_size (env), e->ratio);
  else
    g_string_append (out, ", uncompressed");
  g_string_append_printf (out, ", CRC-32C 0x%08x %s\n", vmstate_envelope_get_checksum (env),
                          e->error == NULL ? "OK" : "BAD");
  if (e->error != NULL)
    g_string_append_printf (out, "    envelope: %s\n", message);
}

static void
print_envelope_json (GString         *out,
                     InspectEnvelope *e)
{
  VmstateEnvelope *env = e->envelope;

  if (env == NULL && e->error == NULL)
    return;
  g_string_append (out, ", \"envelope\": {");
  if (env != NULL)
    g_string_append_printf (out, "\"version\": %u, \"compression\": \"%s\", \"payload_size\": %"
                            G_GUINT64_FORMAT ", \"stored_size\": %" G_GUINT64_FORMAT
                            ", \"checksum\": \"%08x\", ",
                            vmstate_envelope_get_version (env),
                            (vmstate_envelope_get_flags (env) & VMSTATE_ENVELOPE_FLAGS_ZSTD)
                            ? "zstd" : "none",
                            vmstate_envelope_get_payload_size (env),
                            vmstate_envelope_get_stored_size (env),
                            vmstate_envelope_get_checksum (env));
  g_string_append_printf (out, "\"valid\": %s, \"error\": ", e->error == NULL ? "true" : "false");
  if (e->error != NULL)
    tool_json_append_string (out, e->error->message);
  else
    g_string_append (out, "null");
  g_string_append_c (out, '}');
}

static void
print_preview (GString      *out,
               const guint8 *data,
               gsize         size)
{
  for (gsize line = 0; line < size; line += 16)
    {
      g_string_append_printf (out, "    %08" G_GSIZE_MODIFIER "x ", line);
      for (gsize i = line; i < line + 16; i++)
        {
          if (i == line + 8)
            g_string_append_c (out, ' ');
          if (i < size)
            g_string_append_printf (out, " %02x", data[i]);
          else
            g_string_append (out, "   ");
        }
      g_string_append (out, "  |");
      for (gsize i = line; i < line + 16 && i < size; i++)
        g_string_append_c (out, g_ascii_isprint (data[i]) ? data[i] : '.');
      g_string_append (out, "|\n");
    }
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

static int
inspect_run (const char *input_path)
{
  g_autoptr(ToolInput) input = NULL;
  g_autoptr(VmstateBlob) blob = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) out = g_string_new (NULL);
  g_auto(GStrv) ids = NULL;
  const char *path;
  guint n_ids;

  if (opt_preview < 0)
    return tool_usage_error ("inspect", "--preview must be 0 or more");
  path = tool_input_shown_name (input_path);

  input = tool_input_read (input_path, &error);
  if (input == NULL)
    return tool_failure ("inspect", "%s", error->message);

  if (input->kind == TOOL_INPUT_STREAM && input->payloads->len != 1)
    {
      if (input->payloads->len == 0)
        return tool_failure ("inspect", "%s: the QEMU migration stream has no dbus-vmstate "
                             "section (%u sections walked)", path, input->sections->len);
      return tool_failure ("inspect", "%s: the QEMU migration stream has %u dbus-vmstate "
                           "sections; this tool handles one", path, input->payloads->len);
    }

  blob = vmstate_blob_new_from_bytes (input->payload, &error);
  if (blob == NULL)
    {
      if (input->kind == TOOL_INPUT_BLOB)
        return tool_failure ("inspect", "%s is neither a QEMU migration stream nor a valid "
                             "dbus-vmstate blob: %s", path, error->message);
      return tool_failure ("inspect", "%s: the dbus-vmstate section of the migration stream "
                           "is not a valid blob: %s", path, error->message);
    }

  ids = vmstate_blob_get_ids (blob);
  n_ids = g_strv_length (ids);
  qsort (ids, n_ids, sizeof (char *), compare_strings);

  if (opt_extract != NULL && g_mkdir_with_parents (opt_extract, 0755) != 0)
    {
      int saved_errno = errno;

      return tool_failure ("inspect", "cannot create %s: %s", opt_extract, g_strerror (saved_errno));
    }

  if (opt_json)
    {
      g_string_append (out, "{\"file\": ");
      tool_json_append_string (out, input_path);
      g_string_append_printf (out, ", \"size\": %" G_GSIZE_FORMAT ", \"format\": \"%s\"",
                              g_bytes_get_size (input->file),
                              input->kind == TOOL_INPUT_STREAM ? "qemu-migration-stream" : "blob");
      if (input->kind == TOOL_INPUT_STREAM)
        {
          g_string_append (out, ",\n \"stream\": ");
          tool_input_append_stream_json (out, input);
        }
      g_string_append_printf (out, ",\n \"payload_size\": %" G_GSIZE_FORMAT ", \"entries\": [",
                              g_bytes_get_size (input->payload));
    }
  else
    {
      g_autofree char *shown_path = tool_escape_text (path);

      if (input->kind == TOOL_INPUT_STREAM)
        {
          ToolSection *section = g_ptr_array_index (input->payload_sections, 0);
          g_autofree char *name = tool_escape_text (section->name);

          g_string_append_printf (out, "%s: QEMU migration stream, version %u, %" G_GSIZE_FORMAT
                                  " bytes, %u sections\n", shown_path, input->stream_version,
                                  g_bytes_get_size (input->file), input->sections->len);
          g_string_append_printf (out, "section '%s' (id %u, instance %u, version %u) at offset %"
                                  G_GSIZE_FORMAT ": %" G_GSIZE_FORMAT " bytes of dbus-vmstate data\n",
                                  name, section->section_id, section->instance_id,
                                  section->version_id, section->offset,
                                  g_bytes_get_size (input->payload));
        }
      else
        g_string_append_printf (out, "%s: dbus-vmstate blob, %" G_GSIZE_FORMAT " bytes\n",
                                shown_path, g_bytes_get_size (input->file));
      g_string_append_printf (out, "%u entr%s\n", n_ids, n_ids == 1 ? "y" : "ies");
    }

  for (guint i = 0; i < n_ids; i++)
    {
      GBytes *state = vmstate_blob_get_state (blob, ids[i]);
      g_autofree char *sha256 = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, state);
      g_autofree char *file = NULL;
      gsize size;
      const guint8 *data = g_bytes_get_data (state, &size);
      gsize preview = MIN (size, (gsize) opt_preview);
      InspectEnvelope envelope;

      inspect_envelope (state, &envelope);

      if (opt_extract != NULL)
        {
          g_autofree char *name = id_to_filename (ids[i]);

          file = g_build_filename (opt_extract, name, NULL);
          if (!g_file_set_contents_full (file, (const char *) data, size,
                                         G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error))
            return tool_failure ("inspect", "cannot extract '%s': %s", ids[i], error->message);
        }

      if (opt_json)
        {
          g_string_append (out, i ? ",\n  {\"id\": " : "\n  {\"id\": ");
          tool_json_append_string (out, ids[i]);
          g_string_append_printf (out, ", \"size\": %" G_GSIZE_FORMAT ", \"sha256\": \"%s\"",
                                  size, sha256);
          g_string_append (out, ", \"preview\": \"");
          for (gsize j = 0; j < preview; j++)
            g_string_append_printf (out, "%02x", data[j]);
          g_string_append_c (out, '"');
          print_envelope_json (out, &envelope);
          if (file != NULL)
            {
              g_string_append (out, ", \"extracted\": ");
              tool_json_append_string (out, file);
            }
          g_string_append_c (out, '}');
        }
      else
        {
          g_autofree char *id = tool_escape_text (ids[i]);

          g_string_append_printf (out, "  %s: %" G_GSIZE_FORMAT " bytes, sha256 %s\n",
                                  id, size, sha256);
          print_envelope_text (out, state, &envelope);
          print_preview (out, data, preview);
          if (preview < size && preview > 0)
            g_string_append_printf (out, "    … %" G_GSIZE_FORMAT " more bytes\n", size - preview);
          if (file != NULL)
            {
              g_autofree char *shown_file = tool_escape_text (file);

              g_string_append_printf (out, "    extracted to %s\n", shown_file);
            }
        }
      inspect_envelope_clear (&envelope);
    }
  if (opt_json)
    g_string_append (out, n_ids ? "\n ]}\n" : "]}\n");

  fputs (out->str, stdout);
  if (fflush (stdout) != 0)
    return tool_failure ("inspect", "cannot write to standard output: %s", g_strerror (errno));
  return TOOL_EXIT_OK;
}

const ToolCommand tool_command_inspect = {
  "inspect", "FILE", "Show the entries of a blob file or a QEMU migration stream",
  "FILE is a blob ('vmstate save' output, or a dbus-vmstate section payload)\n"
  "or a QEMU migration stream (migrate \"exec:cat>FILE\"), whose sections are\n"
  "walked, using the JSON description QEMU appends, to find the dbus-vmstate\n"
  "section. Shows each entry's Id, size, SHA-256 and a preview, and for a\n"
  "state in a libvmstate envelope its version, flags, sizes and whether its\n"
  "checksum is right.\n"
  "FILE may be - (standard input) or a pipe.\n"
  "Text output shows control characters and bytes that are not UTF-8 as\n"
  "\\xNN (\\n, \\t); JSON output as \\u00XX, and such bytes as U+FFFD.\n"
  "With --extract, an Id's bytes outside [A-Za-z0-9_.-] (and a leading dot)\n"
  "are written as %XX in its file name.",
  { inspect_entries },
  inspect_run,
};
