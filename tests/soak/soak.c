/* soak.c: 1000 save/load cycles across 32 helpers in one process
 *
 * Starts a private dbus-daemon and 32 helper processes (tests/helper/vmstate-test-helper,
 * 4 KiB of state each), then runs save + load cycles with one collector
 * and records this process's RSS (VmRSS) after a warm-up and every 100
 * cycles. Fails if the RSS grew by 1 MiB or more from the end of the
 * warm-up to the end, or if any cycle fails or loses a state.
 *
 * Environment: VMSTATE_SOAK_CYCLES (1000), VMSTATE_SOAK_HELPERS (32),
 * VMSTATE_SOAK_WARMUP (50), VMSTATE_SOAK_STATE_SIZE (4096).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <signal.h>
#include <stdlib.h>

#include "../faults/faults-bus.h"

static guint
env_uint (const char *name, guint fallback)
{
  const char *value = g_getenv (name);

  return value ? (guint) g_ascii_strtoull (value, NULL, 10) : fallback;
}

static void
cycle (VmstateCollector *collector,
       guint             n_helpers,
       gboolean          check)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) blob = vmstate_collector_save_sync (collector, NULL, &error);
  g_autoptr(VmstateBlob) parsed = NULL;

  g_assert_no_error (error);
  g_assert_true (vmstate_collector_load_sync (collector, blob, NULL, &error));
  g_assert_no_error (error);

  if (check)
    {
      parsed = vmstate_blob_new_from_bytes (blob, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (vmstate_blob_get_n_entries (parsed), ==, n_helpers);
    }
}

static void
test_soak (void)
{
  guint n_cycles = env_uint ("VMSTATE_SOAK_CYCLES", 1000);
  guint n_helpers = env_uint ("VMSTATE_SOAK_HELPERS", 32);
  guint n_warmup = env_uint ("VMSTATE_SOAK_WARMUP", 50);
  guint state_size = env_uint ("VMSTATE_SOAK_STATE_SIZE", 4096);
  g_autofree char *size_arg = g_strdup_printf ("%u", state_size);
  g_autoptr(FaultsBus) bus = faults_bus_new (NULL, NULL);
  g_autoptr(GPtrArray) helpers = g_ptr_array_new_with_free_func ((GDestroyNotify) faults_helper_free);
  g_autoptr(VmstateCollector) collector = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) blob = NULL;
  g_autoptr(VmstateBlob) parsed = NULL;
  gsize rss_start, rss_end, rss_max;
  gint64 start;
  double seconds;

  for (guint i = 0; i < n_helpers; i++)
    {
      g_autofree char *id = g_strdup_printf ("soak-%02u", i);
      g_ptr_array_add (helpers, faults_helper_spawn (bus, "--id", id, "--state-size", size_arg, NULL));
    }
  collector = vmstate_collector_new_for_address_sync (bus->address, NULL, &error);
  g_assert_no_error (error);

  for (guint i = 0; i < n_warmup; i++)
    cycle (collector, n_helpers, TRUE);

  rss_start = rss_max = faults_rss_kib ();
  g_test_message ("after %u warm-up cycles: RSS %" G_GSIZE_FORMAT " KiB", n_warmup, rss_start);
  start = g_get_monotonic_time ();
  for (guint i = 1; i <= n_cycles; i++)
    {
      cycle (collector, n_helpers, i % 100 == 0);
      if (i % 100 == 0)
        {
          gsize rss = faults_rss_kib ();

          rss_max = MAX (rss_max, rss);
          g_test_message ("cycle %u: RSS %" G_GSIZE_FORMAT " KiB", i, rss);
        }
    }
  seconds = (g_get_monotonic_time () - start) / 1e6;
  rss_end = faults_rss_kib ();

  /* The states survived 1000 round trips unchanged. */
  blob = vmstate_collector_save_sync (collector, NULL, &error);
  g_assert_no_error (error);
  parsed = vmstate_blob_new_from_bytes (blob, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < n_helpers; i++)
    {
      g_autofree char *id = g_strdup_printf ("soak-%02u", i);
      g_autoptr(GBytes) expected = faults_make_state (state_size, 0);

      /* each helper process is the only one in its process: seed 0 */
      g_assert_true (g_bytes_equal (vmstate_blob_get_state (parsed, id), expected));
    }

  g_test_message ("SOAK: %u cycles (save + load) x %u helpers x %u bytes in %.1f s "
                  "(%.1f ms per cycle); RSS %" G_GSIZE_FORMAT " KiB -> %" G_GSIZE_FORMAT
                  " KiB (max %" G_GSIZE_FORMAT " KiB): growth %" G_GSSIZE_FORMAT " KiB",
                  n_cycles, n_helpers, state_size, seconds, seconds * 1000 / n_cycles,
                  rss_start, rss_end, rss_max, (gssize) rss_end - (gssize) rss_start);
  g_assert_cmpint ((gssize) rss_end - (gssize) rss_start, <, 1024);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  signal (SIGPIPE, SIG_IGN);
  g_test_add_func ("/soak/save-load-cycles", test_soak);
  return g_test_run ();
}
