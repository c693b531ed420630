/* vmstate-bench-envelope.c: the envelope's costs (issue 13)
 *
 * In one run, on the same machine state:
 *   - CRC-32C per MiB (the SSE 4.2 path and the portable slicing-by-8
 *     one) against memcpy of the same 64 MiB;
 *   - zstd compression and decompression MB/s and ratio on a 4.5 MB
 *     conntrack-like table, at the chosen level (1) and at -1 and 3 for
 *     comparison;
 *   - vmstate_envelope_encode() of the table, uncompressed and
 *     compressed, and vmstate_envelope_decode();
 * medians (and best) of --reps repetitions. bench/bench-envelope.py adds
 * the 32-helper save with envelopes against raw.
 *
 *   vmstate-bench-envelope [--reps R] [--json FILE]
 *   vmstate-bench-envelope --write-conntrack FILE [--conntrack-bytes N]
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <libvmstate/libvmstate.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "../libvmstate/vmstate-crc32c-private.h"
#include "vmstate-bench-conntrack.h"

#define MiB (1024.0 * 1024.0)

static int opt_reps = 21;
static int opt_mib = 64;
static gint64 opt_table_bytes = 4500000;
static char *opt_write_conntrack;
static char *opt_json;
static gboolean opt_quick;

static GOptionEntry entries[] = {
  { "reps", 'r', 0, G_OPTION_ARG_INT, &opt_reps, "Repetitions of each measure (default 21)", "R" },
  { "mib", 0, 0, G_OPTION_ARG_INT, &opt_mib, "Buffer of the checksum and memcpy measures, MiB (default 64)", "M" },
  { "conntrack-bytes", 0, 0, G_OPTION_ARG_INT64, &opt_table_bytes, "Size of the conntrack-like table (default 4500000)", "N" },
  { "write-conntrack", 0, 0, G_OPTION_ARG_FILENAME, &opt_write_conntrack, "Write the table to FILE and exit", "FILE" },
  { "json", 0, 0, G_OPTION_ARG_FILENAME, &opt_json, "Write the results as JSON to FILE", "FILE" },
  { "quick", 0, 0, G_OPTION_ARG_NONE, &opt_quick, "A short smoke run", NULL },
  { NULL }
};

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

typedef struct { double median, best; } Stat;

static Stat
stat_of (double *ms, int n)
{
  qsort (ms, n, sizeof *ms, cmp_double);
  return (Stat) { ms[n / 2], ms[0] };
}

static volatile guint32 sink;

static GString *json;
static gboolean json_first = TRUE;

static void
row (const char *name, Stat s, double bytes, const char *extra_fmt, ...) G_GNUC_PRINTF (4, 5);

static void
row (const char *name, Stat s, double bytes, const char *extra_fmt, ...)
{
  g_autofree char *extra = NULL;
  va_list ap;

  va_start (ap, extra_fmt);
  extra = g_strdup_vprintf (extra_fmt, ap);
  va_end (ap);
  printf ("%-40s median %8.3f ms  best %8.3f ms  %7.3f ms/MiB  %8.0f MB/s  %s\n",
          name, s.median, s.best, s.median / (bytes / MiB), bytes / 1e3 / s.median, extra);
  g_string_append_printf (json, "%s\n  {\"name\": \"%s\", \"bytes\": %.0f, \"median_ms\": %.4f, "
                          "\"best_ms\": %.4f, \"ms_per_mib\": %.4f, \"mb_per_s\": %.1f}",
                          json_first ? "" : ",", name, bytes, s.median, s.best,
                          s.median / (bytes / MiB), bytes / 1e3 / s.median);
  json_first = FALSE;
}

#define TIME(ms, stmt) G_STMT_START {                 \
    gint64 t0_ = g_get_monotonic_time ();             \
    stmt;                                             \
    (ms) = (g_get_monotonic_time () - t0_) / 1000.0;  \
  } G_STMT_END

int
main (int argc, char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("- the envelope's costs");
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) table = NULL;
  g_autofree double *ms = NULL;
  g_autofree guint8 *src = NULL;
  g_autofree guint8 *dst = NULL;
  gsize n, tsize;
  const guint8 *tdata;
  Stat mem, crc_hw, crc_sw;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  if (opt_quick)
    {
      opt_reps = 3;
      opt_mib = 8;
    }
  table = bench_conntrack_table (opt_table_bytes, 1);
  tdata = g_bytes_get_data (table, &tsize);
  if (opt_write_conntrack != NULL)
    {
      if (!g_file_set_contents (opt_write_conntrack, (const char *) tdata, tsize, &error))
        {
          g_printerr ("%s\n", error->message);
          return 1;
        }
      return 0;
    }

  json = g_string_new ("{\"rows\": [");
  ms = g_new (double, opt_reps);
  n = (gsize) opt_mib * 1024 * 1024;
  src = g_malloc (n);
  dst = g_malloc (n);
  for (gsize i = 0; i < n; i++)
    src[i] = (guint8) (i * 2654435761u >> 13);
  memcpy (dst, src, n);   /* both buffers warm */

  printf ("CRC-32C uses %s here\n", _vmstate_crc32c_is_hw () ? "SSE 4.2" : "slicing by 8");
  for (int r = 0; r < opt_reps; r++)
    TIME (ms[r], memcpy (dst, src, n); sink += dst[r]);
  mem = stat_of (ms, opt_reps);
  row ("memcpy", mem, n, "1.00 x memcpy");
  for (int r = 0; r < opt_reps; r++)
    TIME (ms[r], sink += _vmstate_crc32c (0, src, n));
  crc_hw = stat_of (ms, opt_reps);
  row ("crc32c (dispatch: hw if present)", crc_hw, n, "%.2f x memcpy", crc_hw.median / mem.median);
  for (int r = 0; r < opt_reps; r++)
    TIME (ms[r], sink += _vmstate_crc32c_sw (0, src, n));
  crc_sw = stat_of (ms, opt_reps);
  row ("crc32c slicing-by-8", crc_sw, n, "%.2f x memcpy", crc_sw.median / mem.median);

  {
    static const int levels[] = { 1, -1, 3 };
    gsize cap = ZSTD_compressBound (tsize);
    g_autofree guint8 *out = g_malloc (cap);
    g_autofree guint8 *back = g_malloc (tsize);

    for (guint l = 0; l < G_N_ELEMENTS (levels); l++)
      {
        gsize c = 0, d = 0;
        char name[64];
        Stat sc, sd;

        for (int r = 0; r < opt_reps; r++)
          TIME (ms[r], c = ZSTD_compress (out, cap, tdata, tsize, levels[l]));
        sc = stat_of (ms, opt_reps);
        g_snprintf (name, sizeof name, "zstd %d compress %.1f MB table", levels[l], tsize / 1e6);
        row (name, sc, tsize, "ratio %.2f x (%" G_GSIZE_FORMAT " -> %" G_GSIZE_FORMAT ")%s",
             (double) tsize / c, tsize, c, levels[l] == 1 ? " [chosen]" : "");
        for (int r = 0; r < opt_reps; r++)
          TIME (ms[r], d = ZSTD_decompress (back, tsize, out, c));
        sd = stat_of (ms, opt_reps);
        g_snprintf (name, sizeof name, "zstd %d decompress", levels[l]);
        if (d != tsize || memcmp (back, tdata, tsize) != 0)
          {
            g_printerr ("zstd round trip failed\n");
            return 1;
          }
        row (name, sd, tsize, "%s", "");
      }
  }

  {
    g_autoptr(GBytes) packed = NULL;
    Stat s;

    for (int r = 0; r < opt_reps; r++)
      {
        g_autoptr(GBytes) e = NULL;

        TIME (ms[r], e = vmstate_envelope_encode (table, 1, FALSE, NULL));
      }
    s = stat_of (ms, opt_reps);
    row ("envelope encode, uncompressed", s, tsize, "copy + CRC-32C");
    for (int r = 0; r < opt_reps; r++)
      {
        g_clear_pointer (&packed, g_bytes_unref);
        TIME (ms[r], packed = vmstate_envelope_encode (table, 1, TRUE, NULL));
      }
    s = stat_of (ms, opt_reps);
    row ("envelope encode, zstd", s, tsize, "%" G_GSIZE_FORMAT " bytes, %.2f x, under 1 MiB: %s",
         g_bytes_get_size (packed), (double) tsize / g_bytes_get_size (packed),
         g_bytes_get_size (packed) <= 1048576 ? "yes" : "NO");
    for (int r = 0; r < opt_reps; r++)
      {
        g_autoptr(GBytes) p = NULL;

        TIME (ms[r], p = vmstate_envelope_decode (packed, G_MAXUINT32, NULL, NULL));
        if (p == NULL || !g_bytes_equal (p, table))
          {
            g_printerr ("envelope round trip failed\n");
            return 1;
          }
      }
    s = stat_of (ms, opt_reps);
    row ("envelope decode, zstd", s, tsize, "inflate + CRC-32C");
  }

  g_string_append (json, "\n]}\n");
  if (opt_json != NULL && !g_file_set_contents (opt_json, json->str, json->len, &error))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  g_string_free (json, TRUE);
  return 0;
}
