/* vmstate-bench.c: how long a save takes, and what it costs
 *
 * Starts a private dbus-daemon (with limits raised for 256 helpers) and N
 * helper processes (tests/helper/vmstate-test-helper --check-load: a
 * state of S bytes, a Save that answers after D ms), then measures, with
 * repetitions:
 *
 *   collector  VmstateCollector save_sync / load_sync
 *   raw        the same work written with g_dbus_connection_call, without
 *              the library: ListQueuedOwners, the Ids, then Save (or Load)
 *              concurrently with the same window; "raw calls" is its Save
 *              phase alone, the practical limit of the bus
 *   seq        QEMU 7.2's way: the same calls one after another with
 *              g_dbus_connection_call_sync
 *
 * Each measurement runs in a fresh child process (this program re-executed
 * with --child), so the peak RSS (VmHWM) of one method is not polluted by
 * another: the child reports its VmHWM after connecting (base), after the
 * saves, and after the loads (the kernel's peak is reset between the two
 * phases with /proc/self/clear_refs). Every child checks each blob byte by
 * byte against the helpers' pattern, and the helpers check every state
 * they are loaded with, so a run also proves the data went through.
 *
 * Then the codec alone: VmstateBlob serialize and parse of 64 MiB against
 * a memcpy of the same bytes.
 *
 * Output: a table on stdout, and JSON with --json FILE.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <libvmstate/libvmstate.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "../tests/vmstate-test-pattern.h"

#define MIB (1024 * 1024)

/* ------------------------------------------------------------------ */
/* Options */

static gboolean opt_quick;
static int opt_reps = 3;
static int opt_rounds = 2;
static int opt_window = 64;
static char *opt_json;
static char *opt_n_list;
static char *opt_s_list;
static char *opt_d_list;
static char *opt_methods;
static int opt_codec_mib = 64;
static int opt_codec_reps = 10;
static gboolean opt_no_codec;
static gboolean opt_no_bus;
static char *opt_helper;
static char *opt_dbus_daemon;
static int opt_seq_budget_ms = 4000;

/* child mode */
static char *opt_child;
static char *opt_address;
static int opt_n;
static gint64 opt_s;
static int opt_d;
static gboolean opt_warmup = TRUE;
static gboolean opt_no_warmup;

static GOptionEntry entries[] = {
  { "quick", 0, 0, G_OPTION_ARG_NONE, &opt_quick, "A short smoke run (small matrix, few repetitions)", NULL },
  { "reps", 'r', 0, G_OPTION_ARG_INT, &opt_reps, "Timed repetitions per child process (default 3)", "R" },
  { "rounds", 0, 0, G_OPTION_ARG_INT, &opt_rounds, "Child processes per method, interleaved (default 2)", "K" },
  { "window", 0, 0, G_OPTION_ARG_INT, &opt_window, "Calls in flight (collector max-in-flight and raw window, default 64)", "W" },
  { "json", 0, 0, G_OPTION_ARG_FILENAME, &opt_json, "Write the results as JSON to FILE", "FILE" },
  { "n", 0, 0, G_OPTION_ARG_STRING, &opt_n_list, "Helper counts (default 1,8,32,256)", "LIST" },
  { "sizes", 0, 0, G_OPTION_ARG_STRING, &opt_s_list, "State sizes in bytes, k/m suffixes (default 0,16k,1m)", "LIST" },
  { "delays", 0, 0, G_OPTION_ARG_STRING, &opt_d_list, "Save delays in ms (default 0,50)", "LIST" },
  { "methods", 0, 0, G_OPTION_ARG_STRING, &opt_methods, "Methods (default collector,raw,seq)", "LIST" },
  { "codec-mib", 0, 0, G_OPTION_ARG_INT, &opt_codec_mib, "Codec benchmark size in MiB (default 64)", "M" },
  { "codec-reps", 0, 0, G_OPTION_ARG_INT, &opt_codec_reps, "Codec benchmark repetitions (default 10)", "R" },
  { "no-codec", 0, 0, G_OPTION_ARG_NONE, &opt_no_codec, "Skip the codec benchmark", NULL },
  { "no-bus", 0, 0, G_OPTION_ARG_NONE, &opt_no_bus, "Skip the bus benchmarks", NULL },
  { "seq-budget-ms", 0, 0, G_OPTION_ARG_INT, &opt_seq_budget_ms, "Run the sequential baseline once, without warm-up, when one save takes longer than this (default 4000)", "MS" },
  { "helper", 0, 0, G_OPTION_ARG_FILENAME, &opt_helper, "The helper program", "PATH" },
  { "dbus-daemon", 0, 0, G_OPTION_ARG_FILENAME, &opt_dbus_daemon, "The dbus-daemon program", "PATH" },
  /* internal: one measurement in a child process */
  { "child", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &opt_child, NULL, NULL },
  { "address", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &opt_address, NULL, NULL },
  { "child-n", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT, &opt_n, NULL, NULL },
  { "child-s", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT64, &opt_s, NULL, NULL },
  { "child-d", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT, &opt_d, NULL, NULL },
  { "no-warmup", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, &opt_no_warmup, NULL, NULL },
  { NULL }
};

/* ------------------------------------------------------------------ */
/* Small tools */

static double
now_s (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void
die (const char *format, ...) G_GNUC_PRINTF (1, 2) G_GNUC_NORETURN;

/* The parent's dbus-daemon, stopped by die(): helpers exit on their own
 * when our end of their stdin closes, the daemon would not. */
static pid_t bus_pid;
static char *bus_dir;

static void
die (const char *format, ...)
{
  va_list ap;

  if (bus_pid > 0)
    kill (bus_pid, SIGTERM);
  if (bus_dir != NULL)
    {
      g_autofree char *socket = g_build_filename (bus_dir, "bus", NULL);
      g_autofree char *config = g_build_filename (bus_dir, "bus.conf", NULL);

      g_unlink (socket);
      g_unlink (config);
      g_rmdir (bus_dir);
    }

  va_start (ap, format);
  fprintf (stderr, "vmstate-bench: ");
  vfprintf (stderr, format, ap);
  fprintf (stderr, "\n");
  va_end (ap);
  exit (1);
}

static char *
helper_id (guint i)
{
  return g_strdup_printf ("bench-%03u", i);
}


/* Checks a saved blob: N entries "bench-000"..., each the pattern. */
static void
verify_blob (GBytes *bytes, guint n, gsize s, const char *method)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmstateBlob) blob = vmstate_blob_new_from_bytes (bytes, &error);
  g_autoptr(GBytes) payload = NULL;

  if (blob == NULL)
    die ("%s: the saved blob does not parse: %s", method, error->message);
  if (vmstate_blob_get_n_entries (blob) != n)
    die ("%s: the saved blob has %u entries, expected %u", method,
         vmstate_blob_get_n_entries (blob), n);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *id = helper_id (i);
      GBytes *state = vmstate_blob_get_state (blob, id);
      gsize size;
      const guint8 *data;

      if (state == NULL)
        die ("%s: the saved blob has no entry for %s", method, id);
      /* issue 13: helpers started by bench/bench-envelope.py */
      g_clear_pointer (&payload, g_bytes_unref);
      if (vmstate_envelope_is_envelope (state))
        {
          payload = vmstate_envelope_decode (state, G_MAXUINT32, NULL, &error);
          if (payload == NULL)
            die ("%s: the envelope of %s does not decode: %s", method, id, error->message);
          state = payload;
        }
      data = g_bytes_get_data (state, &size);
      if (size != s || !vmstate_test_pattern_matches (data, size, i))
        die ("%s: the state of %s in the saved blob is wrong (%" G_GSIZE_FORMAT
             " bytes, expected %" G_GSIZE_FORMAT ")", method, id, size, s);
    }
}

/* VmHWM and VmRSS of this process, in KiB. */
static long
proc_status_kib (const char *field)
{
  g_autofree char *status = NULL;
  const char *p;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return -1;
  p = strstr (status, field);
  if (p == NULL)
    return -1;
  return strtol (p + strlen (field) + 1, NULL, 10);
}

/* Resets VmHWM to the current RSS (Linux >= 4.0). */
static gboolean
reset_peak_rss (void)
{
  int fd = open ("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
  gboolean ok;

  if (fd < 0)
    return FALSE;
  ok = write (fd, "5", 1) == 1;
  close (fd);
  return ok;
}

static void
put32 (GByteArray *a, guint32 v)
{
  guint8 b[4] = { v >> 24, v >> 16, v >> 8, v };

  g_byte_array_append (a, b, 4);
}

static guint32
get32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

/* ------------------------------------------------------------------ */
/* Child: plain GDBus pieces shared by the raw and seq baselines */

static GDBusConnection *child_conn;

static char **
list_queued_owners (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  char **names;

  reply = g_dbus_connection_call_sync (child_conn, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "ListQueuedOwners",
                                       g_variant_new ("(s)", "org.qemu.VMState1"),
                                       G_VARIANT_TYPE ("(as)"), G_DBUS_CALL_FLAGS_NONE,
                                       -1, NULL, &error);
  if (reply == NULL)
    die ("ListQueuedOwners: %s", error->message);
  g_variant_get (reply, "(^as)", &names);
  return names;
}

/* A window of concurrent g_dbus_connection_call()s, as the collector has. */
typedef struct _Fan Fan;
typedef void (*FanIssue) (Fan *fan, guint i, gpointer call_data);

struct _Fan
{
  FanIssue   issue;
  gpointer   data;
  guint      n, next, in_flight, window;
  GVariant **replies;
  GError    *error;
};

typedef struct
{
  Fan  *fan;
  guint i;
} FanCall;

static void fan_pump (Fan *fan);

static void
fan_on_reply (GObject *source, GAsyncResult *result, gpointer user_data)
{
  FanCall *call = user_data;
  Fan *fan = call->fan;
  GError *error = NULL;

  fan->replies[call->i] = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (fan->replies[call->i] == NULL)
    {
      if (fan->error == NULL)
        fan->error = error;
      else
        g_error_free (error);
    }
  fan->in_flight--;
  g_free (call);
  fan_pump (fan);
}

static void
fan_pump (Fan *fan)
{
  while (fan->error == NULL && fan->in_flight < fan->window && fan->next < fan->n)
    {
      FanCall *call = g_new (FanCall, 1);

      call->fan = fan;
      call->i = fan->next++;
      fan->in_flight++;
      fan->issue (fan, call->i, call);
    }
}

/* Runs @issue for 0..n-1, at most window at once; returns the replies. */
static GVariant **
fan_run (FanIssue issue, gpointer data, guint n, const char *what)
{
  Fan fan = { issue, data, n, 0, 0, opt_window, g_new0 (GVariant *, n + 1), NULL };

  fan_pump (&fan);
  while (fan.in_flight > 0)
    g_main_context_iteration (NULL, TRUE);
  if (fan.error != NULL)
    die ("%s: %s", what, fan.error->message);
  return fan.replies;
}

static void
free_replies (GVariant **replies, guint n)
{
  for (guint i = 0; i < n; i++)
    g_clear_pointer (&replies[i], g_variant_unref);
  g_free (replies);
}

static void
issue_get_id (Fan *fan, guint i, gpointer call_data)
{
  char **names = fan->data;

  g_dbus_connection_call (child_conn, names[i], "/org/qemu/VMState1",
                          "org.freedesktop.DBus.Properties", "Get",
                          g_variant_new ("(ss)", "org.qemu.VMState1", "Id"),
                          G_VARIANT_TYPE ("(v)"), G_DBUS_CALL_FLAGS_NO_AUTO_START,
                          -1, NULL, fan_on_reply, call_data);
}

static void
issue_save (Fan *fan, guint i, gpointer call_data)
{
  char **names = fan->data;

  g_dbus_connection_call (child_conn, names[i], "/org/qemu/VMState1",
                          "org.qemu.VMState1", "Save", NULL,
                          G_VARIANT_TYPE ("(ay)"), G_DBUS_CALL_FLAGS_NO_AUTO_START,
                          -1, NULL, fan_on_reply, call_data);
}

typedef struct
{
  char  **names;   /* unique name of target i */
  GBytes **states; /* state for target i */
} LoadTargets;

static void
issue_load (Fan *fan, guint i, gpointer call_data)
{
  LoadTargets *t = fan->data;

  g_dbus_connection_call (child_conn, t->names[i], "/org/qemu/VMState1",
                          "org.qemu.VMState1", "Load",
                          g_variant_new ("(@ay)", g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING,
                                                                            t->states[i], TRUE)),
                          G_VARIANT_TYPE_UNIT, G_DBUS_CALL_FLAGS_NO_AUTO_START,
                          -1, NULL, fan_on_reply, call_data);
}

static char *
id_of_reply (GVariant *reply)
{
  g_autoptr(GVariant) v = NULL;

  g_variant_get (reply, "(v)", &v);
  if (!g_variant_is_of_type (v, G_VARIANT_TYPE_STRING))
    die ("an Id is not a string");
  return g_variant_dup_string (v, NULL);
}

typedef struct
{
  const char   *id;
  const guint8 *data;
  gsize         size;
} RawEntry;

static int
compare_raw_entries (gconstpointer a, gconstpointer b)
{
  return strcmp (((const RawEntry *) a)->id, ((const RawEntry *) b)->id);
}

/* Writes the entries in QEMU's format, sorted by Id like the collector. */
static GBytes *
raw_serialize (RawEntry *e, guint n)
{
  gsize total = 4;
  guint8 *buf, *p;

  qsort (e, n, sizeof *e, compare_raw_entries);
  for (guint i = 0; i < n; i++)
    total += 8 + strlen (e[i].id) + e[i].size;
  p = buf = g_malloc (total);
  p[0] = n >> 24; p[1] = n >> 16; p[2] = n >> 8; p[3] = n; p += 4;
  for (guint i = 0; i < n; i++)
    {
      guint32 l = strlen (e[i].id);

      p[0] = l >> 24; p[1] = l >> 16; p[2] = l >> 8; p[3] = l; p += 4;
      memcpy (p, e[i].id, l); p += l;
      l = e[i].size;
      p[0] = l >> 24; p[1] = l >> 16; p[2] = l >> 8; p[3] = l; p += 4;
      if (l > 0)
        memcpy (p, e[i].data, l);
      p += l;
    }
  return g_bytes_new_take (buf, total);
}

/* Parses a blob without the library: Ids and slices of the states. */
static guint
raw_parse (GBytes *blob, char ***ids_out, GBytes ***states_out)
{
  gsize size;
  const guint8 *buf = g_bytes_get_data (blob, &size);
  gsize pos = 4;
  guint n;
  char **ids;
  GBytes **states;

  if (size < 4)
    die ("raw parse: short blob");
  n = get32 (buf);
  ids = g_new0 (char *, n + 1);
  states = g_new0 (GBytes *, n + 1);
  for (guint i = 0; i < n; i++)
    {
      guint32 l;

      if (size - pos < 4 || (l = get32 (buf + pos)) > size - pos - 4)
        die ("raw parse: bad blob");
      ids[i] = g_strndup ((const char *) buf + pos + 4, l);
      pos += 4 + l;
      if (size - pos < 4 || (l = get32 (buf + pos)) > size - pos - 4)
        die ("raw parse: bad blob");
      states[i] = g_bytes_new_from_bytes (blob, pos + 4, l);
      pos += 4 + l;
    }
  *ids_out = ids;
  *states_out = states;
  return n;
}

/* ------------------------------------------------------------------ */
/* Child: the three methods */

typedef struct
{
  GBytes *(*save) (gpointer self, double *calls_s);
  void    (*load) (gpointer self, GBytes *blob);
} Method;

/* collector */

static GBytes *
collector_save (gpointer self, double *calls_s)
{
  g_autoptr(GError) error = NULL;
  GBytes *blob = vmstate_collector_save_sync (self, NULL, &error);

  if (blob == NULL)
    die ("collector save: %s", error->message);
  return blob;
}

static void
collector_load (gpointer self, GBytes *blob)
{
  g_autoptr(GError) error = NULL;

  if (!vmstate_collector_load_sync (self, blob, NULL, &error))
    die ("collector load: %s", error->message);
}

/* raw: concurrent g_dbus_connection_call, same window, no library */

static GBytes *
raw_save (gpointer self, double *calls_s)
{
  g_auto(GStrv) names = list_queued_owners ();
  guint n = g_strv_length (names);
  GVariant **id_replies, **replies;
  g_autofree RawEntry *e = g_new0 (RawEntry, n + 1);
  g_auto(GStrv) ids = g_new0 (char *, n + 1);
  GBytes *blob;
  double t0;

  id_replies = fan_run (issue_get_id, names, n, "raw Get(Id)");
  for (guint i = 0; i < n; i++)
    ids[i] = id_of_reply (id_replies[i]);
  free_replies (id_replies, n);

  t0 = now_s ();
  replies = fan_run (issue_save, names, n, "raw Save");
  *calls_s = now_s () - t0;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GVariant) data = g_variant_get_child_value (replies[i], 0);

      e[i].id = ids[i];
      e[i].data = g_variant_get_fixed_array (data, &e[i].size, 1);
    }
  blob = raw_serialize (e, n);
  free_replies (replies, n);
  return blob;
}

static void
raw_load (gpointer self, GBytes *blob)
{
  g_auto(GStrv) names = list_queued_owners ();
  guint n = g_strv_length (names);
  g_auto(GStrv) blob_ids = NULL;
  GBytes **states = NULL;
  guint m = raw_parse (blob, &blob_ids, &states);
  g_autoptr(GHashTable) by_id = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char **target_names = g_new0 (char *, m + 1);
  LoadTargets targets = { target_names, states };
  GVariant **replies;

  replies = fan_run (issue_get_id, names, n, "raw Get(Id)");
  for (guint i = 0; i < n; i++)
    g_hash_table_insert (by_id, id_of_reply (replies[i]), names[i]);
  free_replies (replies, n);

  for (guint i = 0; i < m; i++)
    if ((target_names[i] = g_hash_table_lookup (by_id, blob_ids[i])) == NULL)
      die ("raw load: no helper '%s'", blob_ids[i]);

  replies = fan_run (issue_load, &targets, m, "raw Load");
  free_replies (replies, m);
  for (guint i = 0; i < m; i++)
    g_bytes_unref (states[i]);
  g_free (states);
}

/* seq: QEMU 7.2's way, one helper after another */

static GVariant *
call_sync_or_die (const char *name, const char *iface, const char *method,
                  GVariant *params, const GVariantType *type)
{
  g_autoptr(GError) error = NULL;
  GVariant *reply = g_dbus_connection_call_sync (child_conn, name, "/org/qemu/VMState1",
                                                 iface, method, params, type,
                                                 G_DBUS_CALL_FLAGS_NO_AUTO_START,
                                                 -1, NULL, &error);

  if (reply == NULL)
    die ("seq %s: %s", method, error->message);
  return reply;
}

static char **
seq_ids (char **names, guint n)
{
  char **ids = g_new0 (char *, n + 1);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GVariant) reply =
        call_sync_or_die (names[i], "org.freedesktop.DBus.Properties", "Get",
                          g_variant_new ("(ss)", "org.qemu.VMState1", "Id"), G_VARIANT_TYPE ("(v)"));

      ids[i] = id_of_reply (reply);
    }
  return ids;
}

static GBytes *
seq_save (gpointer self, double *calls_s)
{
  g_auto(GStrv) names = list_queued_owners ();
  guint n = g_strv_length (names);
  g_auto(GStrv) ids = seq_ids (names, n);
  GByteArray *out = g_byte_array_new ();
  g_autofree guint *order = g_new (guint, n);

  /* QEMU goes in hash-table order; sort by Id so the blobs compare. */
  for (guint i = 0; i < n; i++)
    order[i] = i;
  for (guint i = 1; i < n; i++)
    for (guint j = i; j > 0 && strcmp (ids[order[j - 1]], ids[order[j]]) > 0; j--)
      {
        guint t = order[j];
        order[j] = order[j - 1];
        order[j - 1] = t;
      }

  put32 (out, n);
  for (guint k = 0; k < n; k++)
    {
      guint i = order[k];
      g_autoptr(GVariant) reply = call_sync_or_die (names[i], "org.qemu.VMState1", "Save",
                                                    NULL, G_VARIANT_TYPE ("(ay)"));
      g_autoptr(GVariant) data = g_variant_get_child_value (reply, 0);
      gsize size;
      const guint8 *p = g_variant_get_fixed_array (data, &size, 1);

      put32 (out, strlen (ids[i]));
      g_byte_array_append (out, (const guint8 *) ids[i], strlen (ids[i]));
      put32 (out, size);
      g_byte_array_append (out, p, size);
    }
  return g_byte_array_free_to_bytes (out);
}

static void
seq_load (gpointer self, GBytes *blob)
{
  g_auto(GStrv) names = list_queued_owners ();
  guint n = g_strv_length (names);
  g_auto(GStrv) ids = seq_ids (names, n);
  g_auto(GStrv) blob_ids = NULL;
  GBytes **states = NULL;
  guint m = raw_parse (blob, &blob_ids, &states);

  for (guint i = 0; i < m; i++)
    {
      const char *name = NULL;
      g_autoptr(GVariant) reply = NULL;

      for (guint j = 0; j < n && name == NULL; j++)
        if (g_str_equal (ids[j], blob_ids[i]))
          name = names[j];
      if (name == NULL)
        die ("seq load: no helper '%s'", blob_ids[i]);
      reply = call_sync_or_die (name, "org.qemu.VMState1", "Load",
                                g_variant_new ("(@ay)", g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING,
                                                                                  states[i], TRUE)),
                                G_VARIANT_TYPE_UNIT);
      g_bytes_unref (states[i]);
    }
  g_free (states);
}

static int
child_main (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmstateCollector) collector = NULL;
  g_autoptr(GBytes) blob = NULL;
  g_auto(GStrv) names = NULL;
  Method method;
  gpointer self = NULL;
  long base, hwm_save, hwm_load = -1, rss_before_load;
  struct rusage ru;

  if (g_str_equal (opt_child, "collector"))
    method = (Method) { collector_save, collector_load };
  else if (g_str_equal (opt_child, "raw"))
    method = (Method) { raw_save, raw_load };
  else if (g_str_equal (opt_child, "seq"))
    method = (Method) { seq_save, seq_load };
  else
    die ("unknown method %s", opt_child);

  child_conn = g_dbus_connection_new_for_address_sync (opt_address,
                                                       G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                       G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                       NULL, NULL, &error);
  if (child_conn == NULL)
    die ("cannot connect to %s: %s", opt_address, error->message);

  if (g_str_equal (opt_child, "collector"))
    {
      collector = vmstate_collector_new (child_conn);
      vmstate_collector_set_max_in_flight (collector, opt_window);
      vmstate_collector_set_max_state_size (collector, MAX (opt_s, MIB));
      self = collector;
    }

  /* Every helper must be on the bus, and no other. */
  names = list_queued_owners ();
  if (g_strv_length (names) != (guint) opt_n)
    die ("%u helpers on the bus, expected %d", g_strv_length (names), opt_n);

  base = proc_status_kib ("VmHWM:");

  /* Save: a warm-up, then the timed repetitions; the last blob is kept. */
  for (int r = opt_warmup ? -1 : 0; r < opt_reps; r++)
    {
      double calls = -1, t0;

      g_clear_pointer (&blob, g_bytes_unref);
      t0 = now_s ();
      blob = method.save (self, &calls);
      t0 = now_s () - t0;
      if (r >= 0)
        {
          printf ("SAVE %.9f\n", t0);
          if (calls >= 0)
            printf ("SAVECALLS %.9f\n", calls);
        }
    }
  hwm_save = proc_status_kib ("VmHWM:");
  printf ("BLOB %" G_GSIZE_FORMAT "\n", g_bytes_get_size (blob));
  verify_blob (blob, opt_n, opt_s, opt_child);

  /* Load the kept blob, with the peak reset to what we hold now. The
   * benchmark (not the library) first gives the memory the save freed
   * back to the system: a VMM loads in another process than the one
   * that saved, so the load's own peak is what matters. */
  malloc_trim (0);
  reset_peak_rss ();
  rss_before_load = proc_status_kib ("VmRSS:");
  for (int r = opt_warmup ? -1 : 0; r < opt_reps; r++)
    {
      double t0 = now_s ();

      method.load (self, blob);
      t0 = now_s () - t0;
      if (r >= 0)
        printf ("LOAD %.9f\n", t0);
    }
  if (reset_peak_rss ())   /* proves clear_refs worked before */
    hwm_load = proc_status_kib ("VmHWM:");
  getrusage (RUSAGE_SELF, &ru);
  /* The kernel resets VmHWM only if clear_refs worked: say so. */
  printf ("RSS %ld %ld %ld %ld %ld\n", base, hwm_save, rss_before_load, hwm_load, ru.ru_maxrss);
  fflush (stdout);

  g_clear_object (&collector);
  g_dbus_connection_close_sync (child_conn, NULL, NULL);
  g_clear_object (&child_conn);
  return 0;
}

/* ------------------------------------------------------------------ */
/* Parent: processes */

/* Waits for a line from @in on the thread-default context, at most @timeout_s. */
typedef struct
{
  char    *line;
  gboolean done;
  GError  *error;
} LineRead;

static void
on_line (GObject *source, GAsyncResult *result, gpointer user_data)
{
  LineRead *lr = user_data;

  lr->line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result, NULL, &lr->error);
  lr->done = TRUE;
}

static gboolean
on_timeout_cancel (gpointer user_data)
{
  g_cancellable_cancel (user_data);
  return G_SOURCE_REMOVE;
}

static char *
read_line_timeout (GDataInputStream *in, guint timeout_s, const char *what)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  LineRead lr = { NULL, FALSE, NULL };
  guint timer = g_timeout_add_seconds (timeout_s, on_timeout_cancel, cancellable);

  g_data_input_stream_read_line_async (in, G_PRIORITY_DEFAULT, cancellable, on_line, &lr);
  while (!lr.done)
    g_main_context_iteration (NULL, TRUE);
  if (!g_cancellable_is_cancelled (cancellable))
    g_source_remove (timer);
  if (lr.error != NULL)
    die ("%s: %s", what, g_error_matches (lr.error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
                          ? "timed out" : lr.error->message);
  return lr.line;
}

typedef struct
{
  GSubprocess      *process;
  GDataInputStream *out;
} Proc;

static Proc *
proc_spawn (GSubprocessFlags flags, const char * const *argv)
{
  g_autoptr(GError) error = NULL;
  Proc *p = g_new0 (Proc, 1);

  p->process = g_subprocess_newv (argv, flags | G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
  if (p->process == NULL)
    die ("cannot start %s: %s", argv[0], error->message);
  p->out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (p->process));
  return p;
}

static void
on_wait (GObject *source, GAsyncResult *result, gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
}

/* Waits for @p to exit, at most @timeout_s, then kills it (by pid). */
static gboolean
proc_wait (Proc *p, guint timeout_s)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  gboolean done = FALSE;
  guint timer = g_timeout_add_seconds (timeout_s, on_timeout_cancel, cancellable);

  g_subprocess_wait_async (p->process, cancellable, on_wait, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
  if (!g_cancellable_is_cancelled (cancellable))
    g_source_remove (timer);
  if (g_subprocess_get_identifier (p->process) != NULL)
    {
      g_subprocess_force_exit (p->process);
      g_subprocess_wait (p->process, NULL, NULL);
      return FALSE;
    }
  return TRUE;
}

static void
proc_free (Proc *p)
{
  if (g_subprocess_get_identifier (p->process) != NULL)
    {
      g_subprocess_force_exit (p->process);
      g_subprocess_wait (p->process, NULL, NULL);
    }
  g_object_unref (p->out);
  g_object_unref (p->process);
  g_free (p);
}

/* The private bus: limits raised so 256 helpers, each with a 1 MiB
 * reply, and a collector with its window all fit. */
static const char bus_config[] =
  "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
  " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
  "<busconfig>\n"
  "  <listen>unix:path=%s/bus</listen>\n"
  "  <auth>EXTERNAL</auth>\n"
  "  <policy context=\"default\">\n"
  "    <allow user=\"*\"/>\n"
  "    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
  "    <allow eavesdrop=\"true\"/>\n"
  "    <allow own=\"*\"/>\n"
  "  </policy>\n"
  "  <limit name=\"max_connections_per_user\">4096</limit>\n"
  "  <limit name=\"max_completed_connections\">4096</limit>\n"
  "  <limit name=\"max_incomplete_connections\">1024</limit>\n"
  "  <limit name=\"max_replies_per_connection\">4096</limit>\n"
  "  <limit name=\"max_incoming_bytes\">1073741824</limit>\n"
  "  <limit name=\"max_outgoing_bytes\">1073741824</limit>\n"
  "  <limit name=\"max_message_size\">134217728</limit>\n"
  "  <limit name=\"auth_timeout\">60000</limit>\n"
  "</busconfig>\n";

typedef struct
{
  char  *dir;
  Proc  *daemon;
  char  *address;
} Bus;

static Bus *
bus_start (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *config = NULL;
  g_autofree char *config_path = NULL;
  g_autofree char *config_arg = NULL;
  Bus *bus = g_new0 (Bus, 1);
  const char *argv[5];

  bus->dir = g_dir_make_tmp ("vmstate-bench-XXXXXX", &error);
  if (bus->dir == NULL)
    die ("cannot make a directory: %s", error->message);
  config = g_strdup_printf (bus_config, bus->dir);
  config_path = g_build_filename (bus->dir, "bus.conf", NULL);
  if (!g_file_set_contents (config_path, config, -1, &error))
    die ("cannot write %s: %s", config_path, error->message);
  config_arg = g_strdup_printf ("--config-file=%s", config_path);
  argv[0] = opt_dbus_daemon;
  argv[1] = config_arg;
  argv[2] = "--print-address=1";
  argv[3] = "--nofork";
  argv[4] = NULL;
  /* It warns that it cannot raise its fd limit: harmless, silenced. */
  bus->daemon = proc_spawn (G_SUBPROCESS_FLAGS_STDERR_SILENCE, argv);
  bus_pid = atoi (g_subprocess_get_identifier (bus->daemon->process));
  bus_dir = bus->dir;
  bus->address = read_line_timeout (bus->daemon->out, 30, "dbus-daemon's address");
  if (bus->address == NULL)
    die ("dbus-daemon exited without an address");
  return bus;
}

static void
bus_stop (Bus *bus)
{
  g_autofree char *socket = g_build_filename (bus->dir, "bus", NULL);
  g_autofree char *config = g_build_filename (bus->dir, "bus.conf", NULL);

  g_subprocess_send_signal (bus->daemon->process, SIGTERM);
  proc_wait (bus->daemon, 10);
  bus_pid = 0;
  bus_dir = NULL;
  proc_free (bus->daemon);
  g_unlink (socket);
  g_unlink (config);
  g_rmdir (bus->dir);
  g_free (bus->dir);
  g_free (bus->address);
  g_free (bus);
}

/* Starts @n helpers together, then waits for every READY line. */
static GPtrArray *
helpers_start (Bus *bus, guint n, gsize s, int d)
{
  GPtrArray *helpers = g_ptr_array_new_with_free_func ((GDestroyNotify) proc_free);
  g_autofree char *size = g_strdup_printf ("--state-size=%" G_GSIZE_FORMAT, s);
  g_autofree char *delay = g_strdup_printf ("--save-delay-ms=%d", d);
  g_autofree char *address = g_strdup_printf ("--address=%s", bus->address);

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *id = helper_id (i);
      g_autofree char *id_arg = g_strdup_printf ("--id=%s", id);
      g_autofree char *seed = g_strdup_printf ("--state-seed=%u", i);
      const char *argv[] = { opt_helper, address, id_arg, size, seed, delay,
                              "--quiet", "--check-load", "--fit-max-state-size", NULL };

      g_ptr_array_add (helpers, proc_spawn (G_SUBPROCESS_FLAGS_STDIN_PIPE, argv));
    }
  for (guint i = 0; i < n; i++)
    {
      Proc *p = g_ptr_array_index (helpers, i);
      g_autofree char *line = read_line_timeout (p->out, 120, "a helper's READY line");

      if (line == NULL || !g_str_has_prefix (line, "READY "))
        die ("helper %u did not start (said: %s)", i, line ? line : "nothing");
    }
  return helpers;
}

/* Closing stdin makes a helper exit; then wait for it (or kill it). */
static void
helpers_stop (GPtrArray *helpers)
{
  for (guint i = 0; i < helpers->len; i++)
    {
      Proc *p = g_ptr_array_index (helpers, i);

      g_output_stream_close (g_subprocess_get_stdin_pipe (p->process), NULL, NULL);
    }
  for (guint i = 0; i < helpers->len; i++)
    proc_wait (g_ptr_array_index (helpers, i), 10);
  g_ptr_array_unref (helpers);
}

/* ------------------------------------------------------------------ */
/* Parent: results */

typedef struct
{
  GArray *save;      /* double seconds */
  GArray *calls;     /* raw: the Save phase alone */
  GArray *load;
  long    base_kib;  /* smallest VmHWM after connecting */
  long    save_kib;  /* largest VmHWM over the saves */
  long    load_kib;  /* largest VmHWM over the loads (-1: unknown) */
  gsize   blob_size;
  gboolean ran;
  char    *note;
} Series;

typedef struct
{
  guint  n;
  gsize  s;
  int    d;
  Series m[3];
} Row;

static const char *method_names[3] = { "collector", "raw", "seq" };

typedef struct
{
  double min, med, max;
  guint  count;
} Stats;

static int
compare_doubles (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

static Stats
stats_of (GArray *a)
{
  Stats st = { 0, 0, 0, 0 };
  g_autoptr(GArray) c = NULL;

  if (a == NULL || a->len == 0)
    return st;
  c = g_array_copy (a);
  g_array_sort (c, compare_doubles);
  st.count = c->len;
  st.min = g_array_index (c, double, 0);
  st.max = g_array_index (c, double, c->len - 1);
  st.med = c->len % 2 ? g_array_index (c, double, c->len / 2)
                      : (g_array_index (c, double, c->len / 2 - 1) + g_array_index (c, double, c->len / 2)) / 2;
  return st;
}

static void
run_child (Bus *bus, Row *row, guint mi, int reps, gboolean warmup)
{
  g_autofree char *self_exe = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *child = g_strdup_printf ("--child=%s", method_names[mi]);
  g_autofree char *address = g_strdup_printf ("--address=%s", bus->address);
  g_autofree char *n = g_strdup_printf ("--child-n=%u", row->n);
  g_autofree char *s = g_strdup_printf ("--child-s=%" G_GSIZE_FORMAT, row->s);
  g_autofree char *d = g_strdup_printf ("--child-d=%d", row->d);
  g_autofree char *r = g_strdup_printf ("--reps=%d", reps);
  g_autofree char *w = g_strdup_printf ("--window=%d", opt_window);
  const char *argv[] = { self_exe, child, address, n, s, d, r, w, warmup ? NULL : "--no-warmup", NULL };
  Series *se = &row->m[mi];
  Proc *p = proc_spawn (G_SUBPROCESS_FLAGS_NONE, argv);
  char *line;

  while ((line = read_line_timeout (p->out, 1200, "a measurement")) != NULL)
    {
      g_auto(GStrv) w2 = g_strsplit (line, " ", -1);
      double v = w2[1] ? g_ascii_strtod (w2[1], NULL) : 0;

      if (g_str_equal (w2[0], "SAVE"))
        g_array_append_val (se->save, v);
      else if (g_str_equal (w2[0], "SAVECALLS"))
        g_array_append_val (se->calls, v);
      else if (g_str_equal (w2[0], "LOAD"))
        g_array_append_val (se->load, v);
      else if (g_str_equal (w2[0], "BLOB"))
        se->blob_size = g_ascii_strtoull (w2[1], NULL, 10);
      else if (g_str_equal (w2[0], "RSS") && g_strv_length (w2) == 6)
        {
          long base = atol (w2[1]), save = atol (w2[2]), load = atol (w2[4]);

          se->base_kib = se->base_kib > 0 ? MIN (se->base_kib, base) : base;
          se->save_kib = MAX (se->save_kib, save);
          se->load_kib = load < 0 ? -1 : MAX (se->load_kib, load);
        }
      g_free (line);
    }
  if (!proc_wait (p, 60) || !g_subprocess_get_successful (p->process))
    die ("the %s measurement for N=%u S=%" G_GSIZE_FORMAT " D=%d failed",
         method_names[mi], row->n, row->s, row->d);
  proc_free (p);
  se->ran = TRUE;
}

static void
run_row (Row *row, gboolean *methods)
{
  Bus *bus = bus_start ();
  GPtrArray *helpers;
  double t0 = now_s ();

  for (guint mi = 0; mi < 3; mi++)
    {
      row->m[mi].save = g_array_new (FALSE, FALSE, sizeof (double));
      row->m[mi].calls = g_array_new (FALSE, FALSE, sizeof (double));
      row->m[mi].load = g_array_new (FALSE, FALSE, sizeof (double));
    }

  helpers = helpers_start (bus, row->n, row->s, row->d);
  fprintf (stderr, "N=%-3u S=%-7" G_GSIZE_FORMAT " D=%-2d: %u helpers ready in %.2f s\n",
           row->n, row->s, row->d, row->n, now_s () - t0);

  for (int round = 0; round < opt_rounds; round++)
    for (guint mi = 0; mi < 3; mi++)
      {
        gboolean expensive = (gint64) row->n * row->d > opt_seq_budget_ms;

        if (!methods[mi])
          continue;
        if (mi == 2 && expensive)
          {
            /* QEMU's way costs N x D per save: once is enough. */
            if (round > 0)
              continue;
            row->m[mi].note = g_strdup_printf ("1 repetition, no warm-up: one save takes N x D = %.1f s",
                                               row->n * row->d / 1000.0);
            run_child (bus, row, mi, 1, FALSE);
          }
        else
          run_child (bus, row, mi, opt_reps, TRUE);
      }

  helpers_stop (helpers);
  bus_stop (bus);
}

/* ------------------------------------------------------------------ */
/* Codec: serialize + parse of 64 MiB against memcpy */

typedef struct
{
  gsize  bytes;
  guint  entries;
  GArray *memcpy_fresh, *memcpy_warm, *serialize, *parse;
} Codec;

static void
run_codec (Codec *c)
{
  guint n = opt_codec_mib;   /* 1 MiB entries, QEMU's largest state */
  gsize total = (gsize) n * MIB;
  g_autoptr(VmstateBlob) blob = vmstate_blob_new ();
  guint8 *src = g_malloc (total);
  guint8 *warm = g_malloc (total);

  c->entries = n;
  c->memcpy_fresh = g_array_new (FALSE, FALSE, sizeof (double));
  c->memcpy_warm = g_array_new (FALSE, FALSE, sizeof (double));
  c->serialize = g_array_new (FALSE, FALSE, sizeof (double));
  c->parse = g_array_new (FALSE, FALSE, sizeof (double));

  vmstate_test_pattern_fill (src, total, 7);
  memset (warm, 0, total);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *id = helper_id (i);
      g_autoptr(GBytes) state = g_bytes_new_static (src + (gsize) i * MIB, MIB);

      if (!vmstate_blob_add (blob, id, state, NULL))
        die ("codec: cannot add %s", id);
    }
  c->bytes = vmstate_blob_get_size (blob);

  for (int r = -1; r < opt_codec_reps; r++)
    {
      g_autoptr(GBytes) bytes = NULL;
      g_autoptr(VmstateBlob) parsed = NULL;
      g_autoptr(GError) error = NULL;
      guint8 *dst;
      double t0, t_fresh, t_warm, t_ser, t_parse;

      /* memcpy into a new buffer: the same page faults serialize pays. */
      t0 = now_s ();
      dst = g_malloc (c->bytes);
      memcpy (dst, src, total);
      t_fresh = now_s () - t0;
      g_free (dst);

      t0 = now_s ();
      memcpy (warm, src, total);
      t_warm = now_s () - t0;

      t0 = now_s ();
      bytes = vmstate_blob_to_bytes (blob);
      t_ser = now_s () - t0;

      t0 = now_s ();
      parsed = vmstate_blob_new_from_bytes (bytes, &error);
      t_parse = now_s () - t0;
      if (parsed == NULL)
        die ("codec: parse: %s", error->message);
      if (vmstate_blob_get_n_entries (parsed) != n)
        die ("codec: parsed %u entries, expected %u", vmstate_blob_get_n_entries (parsed), n);

      if (r == -1)
        {
          /* Check once that the bytes made the round trip. */
          for (guint i = 0; i < n; i++)
            {
              g_autofree char *id = helper_id (i);
              GBytes *state = vmstate_blob_get_state (parsed, id);

              if (state == NULL || g_bytes_get_size (state) != MIB ||
                  memcmp (g_bytes_get_data (state, NULL), src + (gsize) i * MIB, MIB) != 0)
                die ("codec: entry %s did not survive serialize + parse", id);
            }
          continue;
        }
      g_array_append_val (c->memcpy_fresh, t_fresh);
      g_array_append_val (c->memcpy_warm, t_warm);
      g_array_append_val (c->serialize, t_ser);
      g_array_append_val (c->parse, t_parse);
    }
  g_free (warm);
  g_clear_object (&blob);
  g_free (src);
}

/* ------------------------------------------------------------------ */
/* Output */

static char *
size_str (gsize s)
{
  if (s >= MIB && s % MIB == 0)
    return g_strdup_printf ("%" G_GSIZE_FORMAT "M", s / MIB);
  if (s >= 1024 && s % 1024 == 0)
    return g_strdup_printf ("%" G_GSIZE_FORMAT "k", s / 1024);
  return g_strdup_printf ("%" G_GSIZE_FORMAT, s);
}

static char *
ms_str (GArray *a)
{
  Stats st = stats_of (a);

  if (st.count == 0)
    return g_strdup ("-");
  return g_strdup_printf ("%.1f [%.1f-%.1f]", st.med * 1e3, st.min * 1e3, st.max * 1e3);
}

static double
ratio (GArray *a, GArray *b)
{
  Stats x = stats_of (a), y = stats_of (b);

  return x.count && y.count && y.med > 0 ? x.med / y.med : -1;
}

static char *
ratio_str (double r)
{
  return r < 0 ? g_strdup ("-") : g_strdup_printf ("%.2f", r);
}

static long
peak_kib (Series *se)
{
  return MAX (se->save_kib, se->load_kib);
}

static double
rss_limit_mib (Row *row)
{
  /* issue 10: two copies of the states by design, plus 16 MiB */
  return 2.0 * row->n * (double) row->s / MIB + 16;
}

static void
print_table (GPtrArray *rows)
{
  printf ("\nSave (ms: median [min-max]); ratios of medians from the same run\n");
  printf ("%4s %5s %3s %9s | %-24s %-24s %-24s %-26s | %8s %9s %8s | %8s\n",
          "N", "S", "D", "total", "collector", "raw (list+ids+save)", "raw (Save calls only)",
          "seq (QEMU's way)", "coll/raw", "coll/call", "seq/coll", "MB/s");
  for (guint i = 0; i < rows->len; i++)
    {
      Row *row = g_ptr_array_index (rows, i);
      g_autofree char *s = size_str (row->s);
      g_autofree char *t = size_str (row->n * row->s);
      g_autofree char *c = ms_str (row->m[0].save);
      g_autofree char *r = ms_str (row->m[1].save);
      g_autofree char *rc = ms_str (row->m[1].calls);
      g_autofree char *q = ms_str (row->m[2].save);
      g_autofree char *r1 = ratio_str (ratio (row->m[0].save, row->m[1].save));
      g_autofree char *r2 = ratio_str (ratio (row->m[0].save, row->m[1].calls));
      g_autofree char *r3 = ratio_str (ratio (row->m[2].save, row->m[0].save));
      Stats cs = stats_of (row->m[0].save);

      printf ("%4u %5s %3d %9s | %-24s %-24s %-24s %-26s | %8s %9s %8s | %8.0f\n",
              row->n, s, row->d, t, c, r, rc, q, r1, r2, r3,
              cs.count && cs.med > 0 ? row->n * (double) row->s / cs.med / 1e6 : 0.0);
    }

  printf ("\nLoad (ms: median [min-max]) and the collector's peak RSS (VmHWM, MiB)\n");
  printf ("%4s %5s %3s | %-24s %-24s %-26s | %8s %8s | %9s %9s %9s %9s %8s\n",
          "N", "S", "D", "collector", "raw", "seq (QEMU's way)", "coll/raw", "seq/coll",
          "idle", "save peak", "load peak", "limit", "raw peak");
  for (guint i = 0; i < rows->len; i++)
    {
      Row *row = g_ptr_array_index (rows, i);
      g_autofree char *s = size_str (row->s);
      g_autofree char *c = ms_str (row->m[0].load);
      g_autofree char *r = ms_str (row->m[1].load);
      g_autofree char *q = ms_str (row->m[2].load);
      g_autofree char *r1 = ratio_str (ratio (row->m[0].load, row->m[1].load));
      g_autofree char *r3 = ratio_str (ratio (row->m[2].load, row->m[0].load));

      printf ("%4u %5s %3d | %-24s %-24s %-26s | %8s %8s | %9.1f %9.1f %9.1f %9.1f %8.1f\n",
              row->n, s, row->d, c, r, q, r1, r3,
              row->m[0].base_kib / 1024.0, row->m[0].save_kib / 1024.0,
              row->m[0].load_kib / 1024.0, rss_limit_mib (row),
              peak_kib (&row->m[1]) / 1024.0);
    }
  for (guint i = 0; i < rows->len; i++)
    {
      Row *row = g_ptr_array_index (rows, i);

      for (guint mi = 0; mi < 3; mi++)
        if (row->m[mi].note != NULL)
          printf ("note: N=%u S=%" G_GSIZE_FORMAT " D=%d %s: %s\n", row->n, row->s, row->d,
                  method_names[mi], row->m[mi].note);
    }
}

static void
print_codec (Codec *c)
{
  Stats mf = stats_of (c->memcpy_fresh), mw = stats_of (c->memcpy_warm);
  Stats se = stats_of (c->serialize), pa = stats_of (c->parse);

  printf ("\nCodec: %u entries of 1 MiB (%.1f MiB payload), %u repetitions (ms: median [min-max])\n",
          c->entries, c->bytes / (double) MIB, se.count);
  printf ("  memcpy into a malloc'd buffer %8.2f [%.2f-%.2f]\n", mf.med * 1e3, mf.min * 1e3, mf.max * 1e3);
  printf ("  memcpy into a reused buffer  %8.2f [%.2f-%.2f]\n", mw.med * 1e3, mw.min * 1e3, mw.max * 1e3);
  printf ("  vmstate_blob_to_bytes         %8.2f [%.2f-%.2f]\n", se.med * 1e3, se.min * 1e3, se.max * 1e3);
  printf ("  vmstate_blob_new_from_bytes   %8.3f [%.3f-%.3f]\n", pa.med * 1e3, pa.min * 1e3, pa.max * 1e3);
  printf ("  (serialize + parse) / memcpy into a malloc'd buffer = %.2f (target <= 2)\n",
          (se.med + pa.med) / mf.med);
  printf ("  (serialize + parse) / memcpy into a reused buffer = %.2f\n", (se.med + pa.med) / mw.med);
}

static void
json_series (GString *j, const char *name, GArray *a)
{
  Stats st = stats_of (a);

  g_string_append_printf (j, "\"%s\": {\"count\": %u, \"min_ms\": %.4f, \"median_ms\": %.4f, "
                          "\"max_ms\": %.4f, \"samples_ms\": [", name, st.count,
                          st.min * 1e3, st.med * 1e3, st.max * 1e3);
  for (guint i = 0; a != NULL && i < a->len; i++)
    g_string_append_printf (j, "%s%.4f", i ? ", " : "", g_array_index (a, double, i) * 1e3);
  g_string_append (j, "]}");
}

static void
write_json (const char *path, GPtrArray *rows, Codec *codec, double wall)
{
  g_autoptr(GString) j = g_string_new ("{\n");
  g_autoptr(GError) error = NULL;
  g_autofree char *cpu = NULL;
  g_autofree char *load = NULL;
  const char *model = "unknown";
  g_auto(GStrv) lines = NULL;

  if (g_file_get_contents ("/proc/cpuinfo", &cpu, NULL, NULL))
    {
      lines = g_strsplit (cpu, "\n", -1);
      for (guint i = 0; lines[i]; i++)
        if (g_str_has_prefix (lines[i], "model name"))
          {
            model = strchr (lines[i], ':') ? strchr (lines[i], ':') + 2 : lines[i];
            break;
          }
    }
  g_file_get_contents ("/proc/loadavg", &load, NULL, NULL);
  if (load)
    g_strchomp (load);

  g_string_append_printf (j, "  \"machine\": {\"cpu\": \"%s\", \"online_cpus\": %ld, "
                          "\"loadavg_at_end\": \"%s\", \"glib\": \"%u.%u.%u\"},\n",
                          model, sysconf (_SC_NPROCESSORS_ONLN), load ? load : "",
                          glib_major_version, glib_minor_version, glib_micro_version);
  g_string_append_printf (j, "  \"settings\": {\"window\": %d, \"reps_per_child\": %d, \"rounds\": %d, "
                          "\"quick\": %s, \"wall_s\": %.1f},\n",
                          opt_window, opt_reps, opt_rounds, opt_quick ? "true" : "false", wall);
  g_string_append (j, "  \"rows\": [\n");
  for (guint i = 0; rows && i < rows->len; i++)
    {
      Row *row = g_ptr_array_index (rows, i);

      g_string_append_printf (j, "    {\"n\": %u, \"state_size\": %" G_GSIZE_FORMAT
                              ", \"save_delay_ms\": %d, \"total_state\": %" G_GSIZE_FORMAT,
                              row->n, row->s, row->d, row->n * row->s);
      for (guint mi = 0; mi < 3; mi++)
        {
          Series *se = &row->m[mi];

          if (!se->ran)
            continue;
          g_string_append_printf (j, ",\n     \"%s\": {", method_names[mi]);
          json_series (j, "save", se->save);
          if (se->calls->len)
            {
              g_string_append (j, ", ");
              json_series (j, "save_calls", se->calls);
            }
          g_string_append (j, ", ");
          json_series (j, "load", se->load);
          g_string_append_printf (j, ", \"blob_size\": %" G_GSIZE_FORMAT ", \"rss_idle_kib\": %ld, "
                                  "\"rss_peak_save_kib\": %ld, \"rss_peak_load_kib\": %ld",
                                  se->blob_size, se->base_kib, se->save_kib, se->load_kib);
          if (se->note)
            g_string_append_printf (j, ", \"note\": \"%s\"", se->note);
          g_string_append (j, "}");
        }
      g_string_append_printf (j, ",\n     \"ratios\": {\"save_collector_over_raw\": %.4f, "
                              "\"save_collector_over_raw_calls\": %.4f, \"save_seq_over_collector\": %.4f, "
                              "\"load_collector_over_raw\": %.4f, \"load_seq_over_collector\": %.4f, "
                              "\"rss_limit_kib\": %.0f}}%s\n",
                              ratio (row->m[0].save, row->m[1].save),
                              ratio (row->m[0].save, row->m[1].calls),
                              ratio (row->m[2].save, row->m[0].save),
                              ratio (row->m[0].load, row->m[1].load),
                              ratio (row->m[2].load, row->m[0].load),
                              rss_limit_mib (row) * 1024, i + 1 < rows->len ? "," : "");
    }
  g_string_append (j, "  ]");
  if (codec)
    {
      Stats mf = stats_of (codec->memcpy_fresh);
      Stats se = stats_of (codec->serialize), pa = stats_of (codec->parse);

      g_string_append_printf (j, ",\n  \"codec\": {\"entries\": %u, \"payload_bytes\": %" G_GSIZE_FORMAT ", ",
                              codec->entries, codec->bytes);
      json_series (j, "memcpy_new_buffer", codec->memcpy_fresh);
      g_string_append (j, ", ");
      json_series (j, "memcpy_warm_buffer", codec->memcpy_warm);
      g_string_append (j, ", ");
      json_series (j, "serialize", codec->serialize);
      g_string_append (j, ", ");
      json_series (j, "parse", codec->parse);
      g_string_append_printf (j, ", \"serialize_plus_parse_over_memcpy\": %.4f}",
                              (se.med + pa.med) / mf.med);
    }
  g_string_append (j, "\n}\n");
  if (!g_file_set_contents (path, j->str, j->len, &error))
    die ("cannot write %s: %s", path, error->message);
}

/* ------------------------------------------------------------------ */

static gboolean
on_signal (gpointer user_data)
{
  die ("interrupted");
  return G_SOURCE_REMOVE;
}

static GArray *
parse_list (const char *list, gboolean sizes)
{
  GArray *a = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_auto(GStrv) parts = g_strsplit (list, ",", -1);

  for (guint i = 0; parts[i]; i++)
    {
      char *end;
      gint64 v = g_ascii_strtoll (parts[i], &end, 10);

      if (sizes && (*end == 'k' || *end == 'K'))
        v *= 1024, end++;
      else if (sizes && (*end == 'm' || *end == 'M'))
        v *= MIB, end++;
      if (*end != '\0' || end == parts[i] || v < 0)
        die ("bad list element '%s'", parts[i]);
      g_array_append_val (a, v);
    }
  return a;
}

int
main (int argc, char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("- benchmark libvmstate against plain GDBus");
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rows = g_ptr_array_new ();
  g_autoptr(GArray) ns = NULL, ss = NULL, ds = NULL;
  gboolean methods[3] = { FALSE, FALSE, FALSE };
  Codec codec = { 0 };
  double t_start = now_s ();

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_summary (context,
    "Starts a private dbus-daemon and N helper processes, and measures VmstateCollector's\n"
    "save and load against a raw concurrent GDBus baseline and QEMU's sequential way,\n"
    "the collector's peak RSS, and the codec against memcpy.");
  if (!g_option_context_parse (context, &argc, &argv, &error))
    die ("%s", error->message);
  if (opt_no_warmup)
    opt_warmup = FALSE;
  if (opt_window < 1 || opt_window > 1024 || opt_reps < 1 || opt_rounds < 1)
    die ("bad --window, --reps or --rounds");

  if (opt_child != NULL)
    return child_main ();

  if (opt_quick)
    {
      if (!opt_n_list) opt_n_list = g_strdup ("1,8");
      if (!opt_s_list) opt_s_list = g_strdup ("16k");
      if (!opt_d_list) opt_d_list = g_strdup ("0,50");
      opt_reps = 2;
      opt_rounds = 1;
      opt_codec_mib = 8;
      opt_codec_reps = 3;
      opt_seq_budget_ms = 500;
    }
  ns = parse_list (opt_n_list ? opt_n_list : "1,8,32,256", FALSE);
  ss = parse_list (opt_s_list ? opt_s_list : "0,16k,1m", TRUE);
  ds = parse_list (opt_d_list ? opt_d_list : "0,50", FALSE);
  {
    g_auto(GStrv) m = g_strsplit (opt_methods ? opt_methods : "collector,raw,seq", ",", -1);

    for (guint i = 0; m[i]; i++)
      {
        guint mi;

        for (mi = 0; mi < 3 && !g_str_equal (m[i], method_names[mi]); mi++)
          ;
        if (mi == 3)
          die ("unknown method '%s'", m[i]);
        methods[mi] = TRUE;
      }
  }
  if (opt_helper == NULL)
    opt_helper = g_strdup (g_getenv ("VMSTATE_BENCH_HELPER") ? g_getenv ("VMSTATE_BENCH_HELPER") : BENCH_HELPER);
  if (opt_dbus_daemon == NULL)
    opt_dbus_daemon = g_strdup (g_getenv ("DBUS_DAEMON") ? g_getenv ("DBUS_DAEMON") : "dbus-daemon");
  if (g_path_is_absolute (opt_dbus_daemon) == FALSE)
    {
      char *p = g_find_program_in_path (opt_dbus_daemon);

      if (p == NULL)
        die ("no %s in PATH", opt_dbus_daemon);
      g_free (opt_dbus_daemon);
      opt_dbus_daemon = p;
    }

  /* Helpers exit when their stdin closes; on SIGINT or SIGTERM stop the
   * bus daemon too (the handlers run while we wait for any process). */
  signal (SIGPIPE, SIG_IGN);
  g_unix_signal_add (SIGINT, on_signal, NULL);
  g_unix_signal_add (SIGTERM, on_signal, NULL);

  if (!opt_no_bus)
    for (guint a = 0; a < ns->len; a++)
      for (guint b = 0; b < ss->len; b++)
        for (guint c = 0; c < ds->len; c++)
          {
            Row *row = g_new0 (Row, 1);

            row->n = g_array_index (ns, gint64, a);
            row->s = g_array_index (ss, gint64, b);
            row->d = g_array_index (ds, gint64, c);
            if (row->n < 1 || row->n > 1000)
              die ("N must be 1..1000");
            if (row->s > 64 * MIB)
              die ("S above 64 MiB: a D-Bus array cannot hold it");
            run_row (row, methods);
            g_ptr_array_add (rows, row);
          }

  if (!opt_no_codec)
    run_codec (&codec);

  if (rows->len)
    print_table (rows);
  if (!opt_no_codec)
    print_codec (&codec);
  if (opt_json)
    write_json (opt_json, rows, opt_no_codec ? NULL : &codec, now_s () - t_start);
  printf ("\nwall time %.1f s; load average at the end: ", now_s () - t_start);
  {
    g_autofree char *load = NULL;

    if (g_file_get_contents ("/proc/loadavg", &load, NULL, NULL))
      printf ("%s", load);
  }
  return 0;
}
