/* soak.c: 1000 save/load cycles across 32 helpers in one process
 *
 * Starts a private dbus-daemon and 32 helper processes (tests/helper/vmstate-test-helper,
 * 4 KiB of state each), then runs save + load cycles with one collector
 * and records this process's RSS (VmRSS) after a warm-up and every 100
 * cycles. Fails if the RSS grew by 1 MiB or more from the end of the
 * warm-up to the end, or if any cycle fails or loses a state.
 *
 * Every helper has its own state, and a new one in every cycle: each
 * cycle's save must give back, Id by Id, the states the cycle before
 * loaded. A state routed to the wrong helper, or a Load that did
 * nothing, fails the next cycle.
 *
 * Environment: VMSTATE_SOAK_CYCLES (1000), VMSTATE_SOAK_HELPERS (32),
 * VMSTATE_SOAK_WARMUP (50), VMSTATE_SOAK_STATE_SIZE (4096).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <signal.h>
#include <stdlib.h>

#include "../faults/faults-bus.h"
#include "../vmstate-test-util.h"

typedef struct
{
  VmstateCollector *collector;
  guint             n_helpers;
  gsize             state_size;
  guint             cycle;
  GBytes           *loaded;  /* the blob the last cycle loaded */
} Soak;

/* Helper @i's state in @cycle: the pattern of a seed no other helper or
 * cycle has (cycle 0: the --state-seed it started with). */
static GBytes *
state_of (Soak *soak, guint i, guint cycle)
{
  return test_make_state (soak->state_size, cycle * soak->n_helpers + i);
}

static char *
id_of (guint i)
{
  return g_strdup_printf ("soak-%02u", i);
}

/* Every helper saved exactly the state it was given for @cycle. */
static void
assert_saved (Soak *soak, GBytes *blob, guint cycle)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmstateBlob) parsed = vmstate_blob_new_from_bytes (blob, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (vmstate_blob_get_n_entries (parsed), ==, soak->n_helpers);
  for (guint i = 0; i < soak->n_helpers; i++)
    {
      g_autofree char *id = id_of (i);
      g_autoptr(GBytes) expected = state_of (soak, i, cycle);
      GBytes *saved = vmstate_blob_get_state (parsed, id);

      if (saved == NULL || !g_bytes_equal (saved, expected))
        g_error ("cycle %u: helper '%s' did not save the state it was given in cycle %u",
                 soak->cycle, id, cycle);
    }
}

/* One cycle: a save, which must give the states the last cycle loaded,
 * then the load of new states. */
static void
cycle (Soak *soak)
{
  g_autoptr(VmstateBlob) next = vmstate_blob_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) blob = vmstate_collector_save_sync (soak->collector, NULL, &error);

  g_assert_no_error (error);
  assert_saved (soak, blob, soak->cycle);

  soak->cycle++;
  for (guint i = 0; i < soak->n_helpers; i++)
    {
      g_autofree char *id = id_of (i);
      g_autoptr(GBytes) state = state_of (soak, i, soak->cycle);

      vmstate_blob_add (next, id, state, &error);
      g_assert_no_error (error);
    }
  g_clear_pointer (&soak->loaded, g_bytes_unref);
  soak->loaded = vmstate_blob_to_bytes (next);
  g_assert_true (vmstate_collector_load_sync (soak->collector, soak->loaded, NULL, &error));
  g_assert_no_error (error);
}

static guint
env_uint (const char *name, guint fallback)
{
  const char *value = g_getenv (name);

  return value ? (guint) g_ascii_strtoull (value, NULL, 10) : fallback;
}

static void
test_soak (void)
{
  guint n_cycles = env_uint ("VMSTATE_SOAK_CYCLES", 1000);
  guint n_warmup = env_uint ("VMSTATE_SOAK_WARMUP", 50);
  Soak soak = {
    .n_helpers = env_uint ("VMSTATE_SOAK_HELPERS", 32),
    .state_size = env_uint ("VMSTATE_SOAK_STATE_SIZE", 4096),
  };
  g_autofree char *size_arg = g_strdup_printf ("%" G_GSIZE_FORMAT, soak.state_size);
  g_autoptr(FaultsBus) bus = faults_bus_new (NULL, NULL);
  g_autoptr(GPtrArray) helpers = g_ptr_array_new_with_free_func ((GDestroyNotify) test_helper_free);
  g_autoptr(GError) error = NULL;
  gsize rss_start, rss_end, rss_max;
  gint64 start;
  double seconds;

  for (guint i = 0; i < soak.n_helpers; i++)
    {
      g_autofree char *id = id_of (i);
      g_autofree char *seed = g_strdup_printf ("%u", i);

      g_ptr_array_add (helpers, test_helper_spawn (FAULTS_HELPER_ON (bus), "--id", id,
                                                   "--state-size", size_arg, "--state-seed", seed, NULL));
    }
  soak.collector = faults_collector_new (bus);

  for (guint i = 0; i < n_warmup; i++)
    cycle (&soak);

  rss_start = rss_max = faults_rss_kib ();
  g_test_message ("after %u warm-up cycles: RSS %" G_GSIZE_FORMAT " KiB", n_warmup, rss_start);
  start = g_get_monotonic_time ();
  for (guint i = 1; i <= n_cycles; i++)
    {
      cycle (&soak);
      if (i % 100 == 0)
        {
          gsize rss = faults_rss_kib ();

          rss_max = MAX (rss_max, rss);
          g_test_message ("cycle %u: RSS %" G_GSIZE_FORMAT " KiB", i, rss);
        }
    }
  seconds = (g_get_monotonic_time () - start) / 1e6;
  rss_end = faults_rss_kib ();

  /* The last cycle's states came back too. */
  {
    g_autoptr(GBytes) blob = vmstate_collector_save_sync (soak.collector, NULL, &error);

    g_assert_no_error (error);
    assert_saved (&soak, blob, soak.cycle);
    g_assert_true (g_bytes_equal (blob, soak.loaded));
  }

  g_test_message ("SOAK: %u cycles (save + load) x %u helpers x %" G_GSIZE_FORMAT " bytes in %.1f s "
                  "(%.1f ms per cycle); RSS %" G_GSIZE_FORMAT " KiB -> %" G_GSIZE_FORMAT
                  " KiB (max %" G_GSIZE_FORMAT " KiB): growth %" G_GSSIZE_FORMAT " KiB",
                  n_cycles, soak.n_helpers, soak.state_size, seconds, seconds * 1000 / n_cycles,
                  rss_start, rss_end, rss_max, (gssize) rss_end - (gssize) rss_start);
  g_assert_cmpint ((gssize) rss_end - (gssize) rss_start, <, 1024);
  g_clear_pointer (&soak.loaded, g_bytes_unref);
  g_object_unref (soak.collector);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  signal (SIGPIPE, SIG_IGN);
  g_test_add_func ("/soak/save-load-cycles", test_soak);
  return g_test_run ();
}
