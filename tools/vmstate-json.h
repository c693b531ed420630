/* vmstate-json.h: a small JSON reader for QEMU's migration stream
 * description, and the writers of untrusted strings (as JSON, as text)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  TOOL_JSON_NULL,
  TOOL_JSON_BOOL,
  TOOL_JSON_NUMBER,
  TOOL_JSON_STRING,
  TOOL_JSON_ARRAY,
  TOOL_JSON_OBJECT,
} ToolJsonType;

typedef struct _ToolJson ToolJson;
struct _ToolJson
{
  ToolJsonType type;
  gboolean     boolean;
  double       number;
  char        *string;
  GPtrArray   *items;   /* of ToolJson: array elements or object values */
  GPtrArray   *keys;    /* of char *: object keys, parallel to items */
};

ToolJson   *tool_json_parse      (const char *text,
                                  gsize       length,
                                  GError    **error);
void        tool_json_free       (ToolJson   *json);
ToolJson   *tool_json_get        (ToolJson   *object,
                                  const char *key);
const char *tool_json_get_string (ToolJson   *object,
                                  const char *key);
/* Whole non-negative numbers only. */
gboolean    tool_json_get_uint   (ToolJson   *object,
                                  const char *key,
                                  guint64    *value);

/* Untrusted strings (section names, Ids, paths) on their way out.
 *
 * Appends @str as a JSON string literal: always valid JSON and valid
 * UTF-8. Each byte that is not part of valid UTF-8 becomes U+FFFD
 * ("\ufffd"), control characters become \n or \u00XX. */
void        tool_json_append_string (GString    *out,
                                     const char *str);

/* @str made safe to print on a terminal: \n and \t for newline and tab;
 * \xNN for each byte of any other control character (C0, DEL, C1), of
 * any other character that is not printable (format characters such as
 * bidirectional overrides, unassigned code points), and for each byte
 * that is not part of valid UTF-8. Printable characters, backslash
 * included, are kept as they are, so escaping twice changes nothing.
 * Allocated. */
char       *tool_escape_text        (const char *str);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ToolJson, tool_json_free)

G_END_DECLS
