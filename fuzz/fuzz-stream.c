/* fuzz-stream.c: libFuzzer target for the vmstate tool's migration-stream
 * walker (tools/vmstate-stream.c) and its JSON reader and writers
 * (tools/vmstate-json.c), the code `vmstate inspect` and `vmstate load`
 * run on a file copied from another host.
 *
 * An input starting with "QEVM" is walked as a migration stream with
 * tool_input_parse_stream(), as those commands do: its JSON description
 * is found and parsed, its sections stepped over, its dbus-vmstate
 * payload read and parsed as a blob. Invariants:
 *   - a refused stream gets a G_IO_ERROR (or, for the description, a
 *     G_MARKUP_ERROR) with a message; that message, escaped for a
 *     terminal, has no control character and is valid UTF-8;
 *   - an accepted one: sections in file order, each within the file and
 *     before the description, which runs to the file's end; each payload
 *     is the data of its section;
 *   - the JSON that `inspect --json` writes of the walk is valid UTF-8 and
 *     is read back by the strict JSON reader, with every section, and
 *     each name that is valid UTF-8 given back as it was.
 * A GLib warning or critical is a finding too.
 * Any other input is given to the JSON reader; when it is accepted, each
 * string in it is written back with tool_json_append_string() and must
 * read back the same; and each is escaped for a terminal (see above).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <libvmstate/libvmstate.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-common.h"
#include "vmstate-json.h"
#include "vmstate-tool.h"

/* Escaped for a terminal: valid UTF-8, no C0/DEL/C1 control character,
 * and escaping it again changes nothing. */
static void
check_escaped (const char *text)
{
  g_autofree char *escaped = tool_escape_text (text);
  g_autofree char *twice = tool_escape_text (escaped);

  CHECK (g_utf8_validate (escaped, -1, NULL));
  for (const char *p = escaped; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      CHECK (c >= 0x20 && c != 0x7f && !(c >= 0x80 && c < 0xa0));
    }
  CHECK (g_str_equal (escaped, twice));
}

/* Written as a JSON string and read back: the same string (when it was
 * valid UTF-8; otherwise valid UTF-8 all the same). */
static void
check_json_string (const char *str)
{
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(ToolJson) back = NULL;

  tool_json_append_string (out, str);
  CHECK (g_utf8_validate (out->str, out->len, NULL));
  back = tool_json_parse (out->str, out->len, NULL);
  CHECK (back != NULL && back->type == TOOL_JSON_STRING);
  if (g_utf8_validate (str, -1, NULL))
    CHECK (g_str_equal (back->string, str));
}

static void
check_json_strings (ToolJson *json)
{
  if (json->type == TOOL_JSON_STRING)
    {
      check_json_string (json->string);
      check_escaped (json->string);
    }
  for (guint i = 0; json->items != NULL && i < json->items->len; i++)
    check_json_strings (g_ptr_array_index (json->items, i));
  for (guint i = 0; json->keys != NULL && i < json->keys->len; i++)
    check_json_string (g_ptr_array_index (json->keys, i));
}

static void
check_walk (ToolInput *input,
            gsize      size)
{
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(ToolJson) json = NULL;
  ToolJson *sections;
  gsize end = input->vmdesc_offset ? input->vmdesc_offset : size;
  gsize previous = 0;

  CHECK (input->kind == TOOL_INPUT_STREAM);
  CHECK (input->vmdesc_offset == 0 || input->vmdesc_offset + 5 + input->vmdesc_size == size);
  CHECK (input->payloads->len == input->payload_sections->len);
  CHECK ((input->payload != NULL) == (input->payloads->len == 1));
  for (guint i = 0; i < input->sections->len; i++)
    {
      ToolSection *section = g_ptr_array_index (input->sections, i);

      CHECK (section->offset >= previous && section->offset < end);
      CHECK (section->data_offset > section->offset);
      CHECK (section->data_offset <= end && section->data_size <= end - section->data_offset);
      previous = section->data_offset + section->data_size;
      if (section->name != NULL)
        check_escaped (section->name);
    }
  for (guint i = 0; i < input->payloads->len; i++)
    {
      ToolSection *section = g_ptr_array_index (input->payload_sections, i);
      GBytes *payload = g_ptr_array_index (input->payloads, i);

      CHECK (g_bytes_get_size (payload) + 4 == section->data_size);
    }
  if (input->payload != NULL)
    {
      /* what inspect and load do next */
      g_autoptr(GError) error = NULL;
      g_autoptr(VmstateBlob) blob = vmstate_blob_new_from_bytes (input->payload, &error);

      if (blob == NULL)
        check_error (error, VMSTATE_ERROR);
    }

  tool_input_append_stream_json (out, input);
  CHECK (g_utf8_validate (out->str, out->len, NULL));
  json = tool_json_parse (out->str, out->len, NULL);
  CHECK (json != NULL && json->type == TOOL_JSON_OBJECT);
  sections = tool_json_get (json, "sections");
  CHECK (sections != NULL && sections->type == TOOL_JSON_ARRAY);
  CHECK (sections->items->len == input->sections->len);
  for (guint i = 0; i < input->sections->len; i++)
    {
      ToolSection *section = g_ptr_array_index (input->sections, i);
      const char *name = tool_json_get_string (g_ptr_array_index (sections->items, i), "name");

      CHECK ((name != NULL) == (section->name != NULL));
      if (name != NULL && g_utf8_validate (section->name, -1, NULL))
        CHECK (g_str_equal (name, section->name));
    }
}

int LLVMFuzzerInitialize (int *argc, char ***argv);

/* A GLib warning or critical (an error set twice, say) is a finding. */
int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  g_log_set_always_fatal (G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GBytes) file = g_bytes_new (data, size);
  g_autoptr(GError) error = NULL;

  if (size >= 4 && memcmp (data, "QEVM", 4) == 0)
    {
      g_autoptr(ToolInput) input = tool_input_parse_stream (file, &error);

      if (input == NULL)
        {
          CHECK (error != NULL);
          check_error (error, error->domain == G_MARKUP_ERROR ? G_MARKUP_ERROR : G_IO_ERROR);
          check_escaped (error->message);
          return 0;
        }
      CHECK (error == NULL);
      check_walk (input, size);
    }
  else
    {
      g_autoptr(ToolJson) json = tool_json_parse ((const char *) data, size, &error);

      if (json == NULL)
        {
          check_error (error, G_MARKUP_ERROR);
          return 0;
        }
      check_json_strings (json);
    }
  return 0;
}
