/* vmstate-json.h: a small JSON reader for QEMU's migration stream description
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

/* Appends @str (UTF-8) as a JSON string literal. */
void        tool_json_append_string (GString    *out,
                                     const char *str);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ToolJson, tool_json_free)

G_END_DECLS
