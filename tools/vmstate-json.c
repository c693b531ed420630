/* vmstate-json.c: a small JSON reader for QEMU's migration stream
 * description, and the writers of untrusted strings (as JSON, as text)
 *
 * QEMU ends a migration stream with a JSON description of its device
 * sections (field names and sizes). The tool needs it to step over the
 * sections it does not understand; GLib has no JSON parser and the tool
 * should not pull in json-glib for this, so here is a strict RFC 8259
 * reader of a few hundred lines.
 *
 * Section names, Ids and paths come from files and helpers: the tool
 * writes them with tool_json_append_string() (always valid JSON and
 * UTF-8) or tool_escape_text() (safe on a terminal), never raw.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "vmstate-json.h"

#define MAX_DEPTH 128

typedef struct
{
  const char *p;
  const char *start;
  const char *end;
} Parser;

static gboolean parse_value (Parser *parser, ToolJson **out, int depth, GError **error);

void
tool_json_free (ToolJson *json)
{
  if (json == NULL)
    return;
  g_free (json->string);
  if (json->items != NULL)
    g_ptr_array_unref (json->items);
  if (json->keys != NULL)
    g_ptr_array_unref (json->keys);
  g_free (json);
}

static gboolean
fail (Parser     *parser,
      GError    **error,
      const char *what)
{
  g_set_error (error, G_MARKUP_ERROR, G_MARKUP_ERROR_PARSE,
               "invalid JSON at byte %" G_GSIZE_FORMAT ": %s",
               (gsize) (parser->p - parser->start), what);
  return FALSE;
}

static void
skip_space (Parser *parser)
{
  while (parser->p < parser->end &&
         (*parser->p == ' ' || *parser->p == '\t' || *parser->p == '\n' || *parser->p == '\r'))
    parser->p++;
}

static gboolean
literal (Parser     *parser,
         const char *word)
{
  gsize len = strlen (word);

  if ((gsize) (parser->end - parser->p) < len || memcmp (parser->p, word, len) != 0)
    return FALSE;
  parser->p += len;
  return TRUE;
}

static int
hex4 (const char *p)
{
  int value = 0;

  for (int i = 0; i < 4; i++)
    {
      int digit = g_ascii_xdigit_value (p[i]);

      if (digit < 0)
        return -1;
      value = value * 16 + digit;
    }
  return value;
}

static gboolean
parse_string (Parser  *parser,
              char   **out,
              GError **error)
{
  g_autoptr(GString) str = NULL;
  const char *plain = parser->p + 1;

  parser->p++; /* the opening quote */

  /* most strings have no escape: one copy */
  while (plain < parser->end && *plain != '"' && *plain != '\\' && (guchar) *plain >= 0x20)
    plain++;
  if (plain < parser->end && *plain == '"')
    {
      if (!g_utf8_validate (parser->p, plain - parser->p, NULL))
        return fail (parser, error, "string is not UTF-8");
      *out = g_strndup (parser->p, plain - parser->p);
      parser->p = plain + 1;
      return TRUE;
    }

  str = g_string_new_len (parser->p, plain - parser->p);
  parser->p = plain;
  while (parser->p < parser->end && *parser->p != '"')
    {
      guchar c = *parser->p;

      if (c < 0x20)
        return fail (parser, error, "control character in a string");
      if (c != '\\')
        {
          g_string_append_c (str, c);
          parser->p++;
          continue;
        }
      parser->p++;
      if (parser->p >= parser->end)
        break;
      switch (*parser->p)
        {
        case '"': g_string_append_c (str, '"'); break;
        case '\\': g_string_append_c (str, '\\'); break;
        case '/': g_string_append_c (str, '/'); break;
        case 'b': g_string_append_c (str, '\b'); break;
        case 'f': g_string_append_c (str, '\f'); break;
        case 'n': g_string_append_c (str, '\n'); break;
        case 'r': g_string_append_c (str, '\r'); break;
        case 't': g_string_append_c (str, '\t'); break;
        case 'u':
          {
            int unit;
            gunichar ch;

            if (parser->end - parser->p < 5 || (unit = hex4 (parser->p + 1)) < 0)
              return fail (parser, error, "bad \\u escape");
            parser->p += 4;
            ch = unit;
            if (unit >= 0xd800 && unit < 0xdc00)
              {
                int low;

                if (parser->end - parser->p < 7 || parser->p[1] != '\\' || parser->p[2] != 'u' ||
                    (low = hex4 (parser->p + 3)) < 0xdc00 || low >= 0xe000)
                  return fail (parser, error, "unpaired surrogate");
                parser->p += 6;
                ch = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
              }
            else if (unit >= 0xdc00 && unit < 0xe000)
              return fail (parser, error, "unpaired surrogate");
            g_string_append_unichar (str, ch);
          }
          break;
        default:
          return fail (parser, error, "bad escape");
        }
      parser->p++;
    }
  if (parser->p >= parser->end)
    return fail (parser, error, "unterminated string");
  parser->p++; /* the closing quote */
  if (!g_utf8_validate (str->str, str->len, NULL))
    return fail (parser, error, "string is not UTF-8");
  *out = g_string_free (g_steal_pointer (&str), FALSE);
  return TRUE;
}

static gboolean
parse_number (Parser   *parser,
              ToolJson *json,
              GError  **error)
{
  const char *begin = parser->p;
  char text[G_ASCII_DTOSTR_BUF_SIZE];
  g_autofree char *long_text = NULL;

  if (parser->p < parser->end && *parser->p == '-')
    parser->p++;
  if (parser->p >= parser->end || !g_ascii_isdigit (*parser->p))
    return fail (parser, error, "bad number");
  if (*parser->p == '0')
    parser->p++;
  else
    while (parser->p < parser->end && g_ascii_isdigit (*parser->p))
      parser->p++;
  if (parser->p < parser->end && *parser->p == '.')
    {
      parser->p++;
      if (parser->p >= parser->end || !g_ascii_isdigit (*parser->p))
        return fail (parser, error, "bad number");
      while (parser->p < parser->end && g_ascii_isdigit (*parser->p))
        parser->p++;
    }
  if (parser->p < parser->end && (*parser->p == 'e' || *parser->p == 'E'))
    {
      parser->p++;
      if (parser->p < parser->end && (*parser->p == '+' || *parser->p == '-'))
        parser->p++;
      if (parser->p >= parser->end || !g_ascii_isdigit (*parser->p))
        return fail (parser, error, "bad number");
      while (parser->p < parser->end && g_ascii_isdigit (*parser->p))
        parser->p++;
    }
  json->type = TOOL_JSON_NUMBER;
  if ((gsize) (parser->p - begin) < sizeof text)
    {
      memcpy (text, begin, parser->p - begin);
      text[parser->p - begin] = '\0';
      json->number = g_ascii_strtod (text, NULL);
    }
  else
    {
      long_text = g_strndup (begin, parser->p - begin);
      json->number = g_ascii_strtod (long_text, NULL);
    }
  return TRUE;
}

/* An object or an array: its members, or elements, up to the closing
 * bracket. */
static gboolean
parse_container (Parser   *parser,
                 ToolJson *json,
                 int       depth,
                 GError  **error)
{
  gboolean object = *parser->p == '{';
  char close = object ? '}' : ']';

  json->type = object ? TOOL_JSON_OBJECT : TOOL_JSON_ARRAY;
  json->items = g_ptr_array_new_with_free_func ((GDestroyNotify) tool_json_free);
  if (object)
    json->keys = g_ptr_array_new_with_free_func (g_free);
  parser->p++;
  skip_space (parser);
  if (parser->p < parser->end && *parser->p == close)
    {
      parser->p++;
      return TRUE;
    }
  for (;;)
    {
      ToolJson *value = NULL;

      if (object)
        {
          char *key = NULL;

          skip_space (parser);
          if (parser->p >= parser->end || *parser->p != '"')
            return fail (parser, error, "expected a key");
          if (!parse_string (parser, &key, error))
            return FALSE;
          g_ptr_array_add (json->keys, key);
          skip_space (parser);
          if (parser->p >= parser->end || *parser->p != ':')
            return fail (parser, error, "expected ':'");
          parser->p++;
        }
      if (!parse_value (parser, &value, depth + 1, error))
        return FALSE;
      g_ptr_array_add (json->items, value);
      skip_space (parser);
      if (parser->p < parser->end && *parser->p == ',')
        parser->p++;
      else if (parser->p < parser->end && *parser->p == close)
        {
          parser->p++;
          return TRUE;
        }
      else
        return fail (parser, error, object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static gboolean
parse_value (Parser    *parser,
             ToolJson **out,
             int        depth,
             GError   **error)
{
  g_autoptr(ToolJson) json = g_new0 (ToolJson, 1);

  if (depth > MAX_DEPTH)
    return fail (parser, error, "nested too deeply");

  skip_space (parser);
  if (parser->p >= parser->end)
    return fail (parser, error, "unexpected end");

  switch (*parser->p)
    {
    case '{':
    case '[':
      if (!parse_container (parser, json, depth, error))
        return FALSE;
      break;

    case '"':
      json->type = TOOL_JSON_STRING;
      if (!parse_string (parser, &json->string, error))
        return FALSE;
      break;

    case 't':
    case 'f':
    case 'n':
      if (literal (parser, "true"))
        json->type = TOOL_JSON_BOOL, json->boolean = TRUE;
      else if (literal (parser, "false"))
        json->type = TOOL_JSON_BOOL;
      else if (literal (parser, "null"))
        json->type = TOOL_JSON_NULL;
      else
        return fail (parser, error, "unknown literal");
      break;

    default:
      if (!parse_number (parser, json, error))
        return FALSE;
    }

  *out = g_steal_pointer (&json);
  return TRUE;
}

ToolJson *
tool_json_parse (const char *text,
                 gsize       length,
                 GError    **error)
{
  Parser parser = { text, text, text + length };
  g_autoptr(ToolJson) json = NULL;

  if (!parse_value (&parser, &json, 0, error))
    return NULL;
  skip_space (&parser);
  if (parser.p != parser.end)
    {
      fail (&parser, error, "garbage after the value");
      return NULL;
    }
  return g_steal_pointer (&json);
}

ToolJson *
tool_json_get (ToolJson   *object,
               const char *key)
{
  if (object == NULL || object->type != TOOL_JSON_OBJECT)
    return NULL;
  for (guint i = 0; i < object->keys->len; i++)
    if (g_str_equal (g_ptr_array_index (object->keys, i), key))
      return g_ptr_array_index (object->items, i);
  return NULL;
}

const char *
tool_json_get_string (ToolJson   *object,
                      const char *key)
{
  ToolJson *value = tool_json_get (object, key);

  return value != NULL && value->type == TOOL_JSON_STRING ? value->string : NULL;
}

gboolean
tool_json_get_uint (ToolJson   *object,
                    const char *key,
                    guint64    *out)
{
  ToolJson *value = tool_json_get (object, key);

  if (value == NULL || value->type != TOOL_JSON_NUMBER ||
      value->number < 0 || value->number > (double) G_MAXINT64 ||
      value->number != (double) (guint64) value->number)
    return FALSE;
  *out = (guint64) value->number;
  return TRUE;
}

/* The character at @p and where the next one starts; an invalid UTF-8
 * byte is one character of its own, (gunichar) -1. */
static const char *
next_char (const char *p,
           gunichar   *c)
{
  *c = g_utf8_get_char_validated (p, -1);
  if (*c == (gunichar) -1 || *c == (gunichar) -2)
    {
      *c = (gunichar) -1;
      return p + 1;
    }
  return g_utf8_next_char (p);
}

void
tool_json_append_string (GString    *out,
                         const char *str)
{
  g_string_append_c (out, '"');
  for (const char *p = str, *next; *p != '\0'; p = next)
    {
      gunichar c;

      next = next_char (p, &c);
      if (c == (gunichar) -1)
        g_string_append (out, "\\ufffd");
      else if (c == '"' || c == '\\')
        {
          g_string_append_c (out, '\\');
          g_string_append_c (out, c);
        }
      else if (c == '\n')
        g_string_append (out, "\\n");
      else if (c < 0x20 || c == 0x7f)
        g_string_append_printf (out, "\\u%04x", c);
      else
        g_string_append_len (out, p, next - p);
    }
  g_string_append_c (out, '"');
}

char *
tool_escape_text (const char *str)
{
  GString *out = g_string_new (NULL);

  for (const char *p = str, *next; *p != '\0'; p = next)
    {
      gunichar c;

      next = next_char (p, &c);
      if (c == '\n')
        g_string_append (out, "\\n");
      else if (c == '\t')
        g_string_append (out, "\\t");
      else if (c == (gunichar) -1 || c < 0x20 || c == 0x7f || (c >= 0x80 && !g_unichar_isprint (c)))
        for (const char *b = p; b < next; b++)
          g_string_append_printf (out, "\\x%02x", (guchar) *b);
      else
        g_string_append_len (out, p, next - p);
    }
  return g_string_free (out, FALSE);
}
