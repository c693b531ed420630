/* vmstate-bench-stream.c: the cost of walking a QEMU migration stream
 * (issue 15), what `vmstate inspect` and `vmstate load` do first
 *
 * Each stream is in memory; the time is the median of --reps walks with
 * tool_input_parse_stream(), given per MB (10^6 bytes), next to a
 * baseline measured in the same run: memcpy() of the same bytes. Streams:
 *   - each FILE given (a large real one: tests/cli/make-fixture.py --pc);
 *   - crafted from the real QEMU 7.2 stream of the tests, with N extra
 *     full sections before its end (N of --sections):
 *       "devices": N sections of N devices (a 'timer' each, 24 bytes);
 *       "fields":  N sections of one device with N fields of 0 bytes.
 *     Walked quadratically, these grow as N^2 (before issue 15, 16 000
 *     sections took 32 s and more).
 * A walk that takes longer than --max-seconds is stopped after its first
 * repetition (its time is still given).
 *
 *   vmstate-bench-stream [--reps R] [--sections N,N...] [FILE...]
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmstate-tool.h"

static int opt_reps = 11;
static char *opt_sections = (char *) "4000,16000,64000";
static double opt_max_seconds = 20;
static gboolean opt_quick;

static GOptionEntry entries[] = {
  { "reps", 'r', 0, G_OPTION_ARG_INT, &opt_reps, "Walks of each stream (default 11)", "R" },
  { "sections", 's', 0, G_OPTION_ARG_STRING, &opt_sections,
    "Extra sections of the crafted streams (default 4000,16000,64000)", "N,..." },
  { "max-seconds", 0, 0, G_OPTION_ARG_DOUBLE, &opt_max_seconds,
    "One walk only when the first takes longer (default 20)", "S" },
  { "quick", 0, 0, G_OPTION_ARG_NONE, &opt_quick, "A short smoke run (1000 sections, 3 reps)", NULL },
  { NULL }
};

static int
compare_doubles (const void *a,
                 const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

/* The median of up to --reps walks of @stream (or memcpy() of its bytes
 * when !@walk), in seconds. */
static double
measure (GBytes   *stream,
         gboolean  walk,
         guint    *n_sections)
{
  g_autofree double *seconds = g_new (double, opt_reps);
  gsize size;
  const guint8 *data = g_bytes_get_data (stream, &size);
  g_autofree guint8 *copy = walk ? NULL : g_malloc (size);
  int n = 0;

  if (copy != NULL)
    memcpy (copy, data, size); /* fault the pages in before timing */
  while (n < opt_reps)
    {
      gint64 start = g_get_monotonic_time ();

      if (walk)
        {
          g_autoptr(GError) error = NULL;
          g_autoptr(ToolInput) input = tool_input_parse_stream (stream, &error);

          if (input == NULL)
            g_error ("the stream does not walk: %s", error->message);
          *n_sections = input->sections->len;
        }
      else
        {
          memcpy (copy, data, size);
          __asm__ __volatile__ ("" : : "r" (copy) : "memory");
        }
      seconds[n++] = (g_get_monotonic_time () - start) / 1e6;
      if (seconds[0] > opt_max_seconds)
        break;
    }
  qsort (seconds, n, sizeof (double), compare_doubles);
  return seconds[n / 2];
}

static void
report (const char *name,
        GBytes     *stream)
{
  double mb = g_bytes_get_size (stream) / 1e6;
  guint n_sections = 0;
  double walk = measure (stream, TRUE, &n_sections);
  double copy = measure (stream, FALSE, NULL);

  g_autofree char *ratio = copy > 0 ? g_strdup_printf ("%.1f", walk / copy) : g_strdup ("-");

  printf ("| %-24s | %11" G_GSIZE_FORMAT " | %8u | %10.3f | %10.3f | %12.3f | %11s |\n",
          name, g_bytes_get_size (stream), n_sections, walk * 1e3, walk * 1e3 / mb,
          copy * 1e3 / mb, ratio);
  fflush (stdout);
}

static void
append_be32 (GByteArray *out,
             guint32     v)
{
  guint8 b[4] = { v >> 24, v >> 16, v >> 8, v };

  g_byte_array_append (out, b, 4);
}

static void
append_timer_section (GByteArray *out,
                      guint32     section_id,
                      guint32     instance_id,
                      gsize       data_size)
{
  static const guint8 zeros[24];

  g_byte_array_append (out, (const guint8 *) "\x04", 1);
  append_be32 (out, section_id);
  g_byte_array_append (out, (const guint8 *) "\x05timer", 6);
  append_be32 (out, instance_id);
  append_be32 (out, 2);
  g_byte_array_append (out, zeros, data_size);
  g_byte_array_append (out, (const guint8 *) "\x7e", 1);
  append_be32 (out, section_id);
}

#define TIMER_FIELDS \
  "[{\"name\": \"cpu_ticks_offset\", \"type\": \"int64\", \"size\": 8}, " \
  "{\"name\": \"unused\", \"type\": \"unused_buffer\", \"size\": 8}, " \
  "{\"name\": \"cpu_clock_offset\", \"type\": \"int64\", \"size\": 8}]"

/* The fixture with @n extra sections (see the top of the file). */
static GBytes *
craft (GBytes     *fixture,
       ToolInput  *walked,
       gboolean    many_fields,
       guint       n)
{
  gsize size;
  const char *data = g_bytes_get_data (fixture, &size);
  const char *text = data + walked->vmdesc_offset + 5;
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GString) json = g_string_new_len (text, walked->vmdesc_size);

  /* the description ends with its devices array: "...]}" */
  g_assert (g_str_has_suffix (json->str, "]}"));
  g_string_truncate (json, json->len - 2);
  /* the sections, without their end-of-stream marker */
  g_byte_array_append (out, (const guint8 *) data, walked->vmdesc_offset - 1);
  if (many_fields)
    {
      g_string_append (json, ", {\"name\": \"timer\", \"instance_id\": 1, \"vmsd_name\": \"timer\", "
                       "\"version\": 2, \"fields\": [");
      for (guint i = 0; i < n; i++)
        g_string_append_printf (json, "%s{\"name\": \"f%u\", \"type\": \"unused_buffer\", \"size\": 0}",
                                i ? ", " : "", i);
      g_string_append (json, "]}");
    }
  for (guint i = 0; i < n; i++)
    {
      append_timer_section (out, 100 + i, many_fields ? 1 : 1 + i, many_fields ? 0 : 24);
      if (!many_fields)
        g_string_append_printf (json, ", {\"name\": \"timer\", \"instance_id\": %u, \"vmsd_name\": "
                                "\"timer\", \"version\": 2, \"fields\": " TIMER_FIELDS "}", 1 + i);
    }
  g_string_append (json, "]}");
  g_byte_array_append (out, (const guint8 *) "\x00\x06", 2);
  append_be32 (out, json->len);
  g_byte_array_append (out, (const guint8 *) json->str, json->len);
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("[FILE...] - walk QEMU migration streams");
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) fixture = NULL;
  g_autoptr(ToolInput) walked = NULL;
  g_auto(GStrv) counts = NULL;
  char *contents;
  gsize length;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || opt_reps < 1)
    {
      g_printerr ("vmstate-bench-stream: %s\n", error ? error->message : "--reps must be 1 or more");
      return 2;
    }
  opt_reps = opt_quick ? 3 : opt_reps;
  opt_sections = opt_quick ? (char *) "1000" : opt_sections;

  printf ("| stream                   |       bytes | sections |    walk ms | walk ms/MB | memcpy ms/MB | walk/memcpy |\n"
          "|---|---:|---:|---:|---:|---:|---:|\n");
  for (int i = 1; i < argc; i++)
    {
      g_autoptr(GBytes) stream = NULL;
      g_autofree char *name = g_path_get_basename (argv[i]);

      if (!g_file_get_contents (argv[i], &contents, &length, &error))
        g_error ("%s", error->message);
      stream = g_bytes_new_take (contents, length);
      report (name, stream);
    }

  if (!g_file_get_contents (FIXTURE, &contents, &length, &error))
    g_error ("%s", error->message);
  fixture = g_bytes_new_take (contents, length);
  walked = tool_input_parse_stream (fixture, &error);
  if (walked == NULL)
    g_error ("%s: %s", FIXTURE, error->message);
  report ("qemu-7.2-machine-none", fixture);

  counts = g_strsplit (opt_sections, ",", -1);
  for (guint i = 0; counts[i] != NULL; i++)
    for (int many_fields = 0; many_fields <= 1; many_fields++)
      {
        guint n = atoi (counts[i]);
        g_autoptr(GBytes) stream = craft (fixture, walked, many_fields, n);
        g_autofree char *name = g_strdup_printf ("%u sections, %s", n, many_fields ? "fields" : "devices");

        report (name, stream);
      }
  return 0;
}
