/* test-collector.c: VmstateCollector against real helper processes on a
 * real, private dbus-daemon (GTestDBus)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <stdlib.h>
#include <string.h>

#include "vmstate-test-util.h"

typedef struct
{
  GTestDBus        *bus;
  VmstateCollector *collector;
  char             *tmpdir;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  f->bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_test_dbus_up (f->bus);
  f->collector = vmstate_collector_new_for_address_sync (g_test_dbus_get_bus_address (f->bus),
                                                         NULL, &error);
  g_assert_no_error (error);
  f->tmpdir = g_dir_make_tmp ("vmstate-test-XXXXXX", &error);
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  test_remove_dir (f->tmpdir);
  g_free (f->tmpdir);
  g_clear_object (&f->collector);
  g_test_dbus_down (f->bus);
  g_object_unref (f->bus);
}

static GBytes *
save_ok (Fixture *f)
{
  g_autoptr(GError) error = NULL;
  GBytes *blob = vmstate_collector_save_sync (f->collector, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (blob);
  return blob;
}

/* Asserts a failed save: the error, and that its message names what it
 * must (the helper's Id and unique name, the cause). */
static void
save_fails (Fixture *f, int code, const char *must_contain, ...)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) blob = vmstate_collector_save_sync (f->collector, NULL, &error);
  va_list ap;

  g_assert_null (blob);
  va_start (ap, must_contain);
  test_assert_failed (error, VMSTATE_ERROR, code, must_contain, ap);
  va_end (ap);
}

static void
load_fails (Fixture *f, GBytes *blob, int code, const char *must_contain)
{
  g_autoptr(GError) error = NULL;

  g_assert_false (vmstate_collector_load_sync (f->collector, blob, NULL, &error));
  g_assert_error (error, VMSTATE_ERROR, code);
  g_test_message ("load failed as expected: %s", error->message);
  if (must_contain != NULL)
    g_assert_nonnull (strstr (error->message, must_contain));
}

static void
load_succeeds (Fixture *f, GBytes *blob)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (vmstate_collector_load_sync (f->collector, blob, NULL, &error));
  g_assert_no_error (error);
}

/* Saves with the async API; returns the blob, and in @failed what
 * vmstate_collector_get_failed_helpers() says, asked before and after
 * the _finish (it must say the same). */
static GBytes *
save_failed_helpers (Fixture *f, GPtrArray **failed, GError **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GPtrArray) before = NULL;
  GBytes *blob;

  vmstate_collector_save_async (f->collector, NULL, test_store_result, &result);
  before = vmstate_collector_get_failed_helpers (f->collector, test_wait_result (&result));
  blob = vmstate_collector_save_finish (f->collector, result, error);
  *failed = vmstate_collector_get_failed_helpers (f->collector, result);
  g_assert_cmpuint (before->len, ==, (*failed)->len);
  for (guint i = 0; i < before->len; i++)
    g_assert_true (before->pdata[i] == (*failed)->pdata[i]);
  return blob;
}

static gboolean
load_failed_helpers (Fixture *f, GBytes *blob, GPtrArray **failed, GError **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  gboolean ok;

  vmstate_collector_load_async (f->collector, blob, NULL, test_store_result, &result);
  ok = vmstate_collector_load_finish (f->collector, test_wait_result (&result), error);
  *failed = vmstate_collector_get_failed_helpers (f->collector, result);
  return ok;
}

/* pid 0: do not check it */
static void
assert_helper (VmstateHelper *helper, const char *id, const char *unique_name, guint pid)
{
  g_assert_true (VMSTATE_IS_HELPER (helper));
  g_assert_cmpstr (vmstate_helper_get_id (helper), ==, id);
  g_assert_cmpstr (vmstate_helper_get_unique_name (helper), ==, unique_name);
  if (pid != 0)
    g_assert_cmpuint (vmstate_helper_get_pid (helper), ==, pid);
}

static void
test_list (Fixture *f, gconstpointer data)
{
  g_autoptr(TestHelper) b = test_helper_spawn ("--id", "net0", NULL);
  g_autoptr(TestHelper) a = test_helper_spawn ("--id", "fw", NULL);
  g_autoptr(GPtrArray) helpers = NULL;
  g_autoptr(GError) error = NULL;
  VmstateHelper *h;

  helpers = vmstate_collector_list_helpers_sync (f->collector, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (helpers->len, ==, 2);

  /* sorted by Id */
  h = g_ptr_array_index (helpers, 0);
  g_assert_cmpstr (vmstate_helper_get_id (h), ==, "fw");
  g_assert_cmpstr (vmstate_helper_get_unique_name (h), ==, a->unique_name);
  g_assert_cmpuint (vmstate_helper_get_pid (h), ==, a->pid);
  h = g_ptr_array_index (helpers, 1);
  g_assert_cmpstr (vmstate_helper_get_id (h), ==, "net0");
  g_assert_cmpstr (vmstate_helper_get_unique_name (h), ==, b->unique_name);
  g_assert_cmpuint (vmstate_helper_get_pid (h), ==, b->pid);
}

static void
test_empty_bus (Fixture *f, gconstpointer data)
{
  g_autoptr(GBytes) blob = save_ok (f);
  static const guint8 empty[4] = { 0, 0, 0, 0 };
  g_autoptr(GPtrArray) helpers = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpmem (g_bytes_get_data (blob, NULL), g_bytes_get_size (blob), empty, 4);
  load_succeeds (f, blob);
  helpers = vmstate_collector_list_helpers_sync (f->collector, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (helpers->len, ==, 0);
}

static void
test_roundtrip (Fixture *f, gconstpointer data)
{
  const struct { const char *id; const char *size; int seed; } spec[] = {
    { "tpm", "0", 1 },
    { "net0", "16384", 2 },
    { "big", "1048576", 3 },
    { "a", "1", 4 },
  };
  TestHelper *src[G_N_ELEMENTS (spec)];
  TestHelper *dst[G_N_ELEMENTS (spec)];
  g_autoptr(GBytes) blob = NULL;
  g_autoptr(VmstateBlob) parsed = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) ids = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (spec); i++)
    {
      g_autofree char *seed = g_strdup_printf ("%d", spec[i].seed);
      src[i] = test_helper_spawn ("--id", spec[i].id, "--state-size", spec[i].size,
                                  "--state-seed", seed, NULL);
    }

  blob = save_ok (f);
  for (guint i = 0; i < G_N_ELEMENTS (spec); i++)
    test_helper_free (src[i]);

  /* The blob holds exactly these states, in Id order. */
  parsed = vmstate_blob_new_from_bytes (blob, &error);
  g_assert_no_error (error);
  ids = vmstate_blob_get_ids (parsed);
  g_assert_cmpuint (g_strv_length (ids), ==, 4);
  g_assert_cmpstr (ids[0], ==, "a");
  g_assert_cmpstr (ids[1], ==, "big");
  g_assert_cmpstr (ids[2], ==, "net0");
  g_assert_cmpstr (ids[3], ==, "tpm");
  for (guint i = 0; i < G_N_ELEMENTS (spec); i++)
    {
      g_autoptr(GBytes) expected = test_make_state (atoi (spec[i].size), spec[i].seed);
      g_assert_true (g_bytes_equal (vmstate_blob_get_state (parsed, spec[i].id), expected));
    }
  /* No padding: the blob is exactly its entries. */
  g_assert_cmpuint (g_bytes_get_size (blob), ==, vmstate_blob_get_size (parsed));

  /* Fresh helpers with other states load it and get the saved ones. */
  for (guint i = 0; i < G_N_ELEMENTS (spec); i++)
    dst[i] = test_helper_spawn ("--id", spec[i].id, "--state-size", "7", NULL);
  load_succeeds (f, blob);
  for (guint i = 0; i < G_N_ELEMENTS (spec); i++)
    {
      g_autoptr(GBytes) expected = test_make_state (atoi (spec[i].size), spec[i].seed);
      test_helper_expect_loaded (dst[i], expected);
    }

  /* Saving the loaded helpers gives the same bytes. */
  {
    g_autoptr(GBytes) again = save_ok (f);
    g_assert_true (g_bytes_equal (again, blob));
  }

  for (guint i = 0; i < G_N_ELEMENTS (spec); i++)
    test_helper_free (dst[i]);
}

/* Every helper's Save waits until all of them are inside Save (a
 * barrier): a collector that called them one by one would time out. */
static void
test_concurrent (Fixture *f, gconstpointer data)
{
  const guint n = 8;
  g_autoptr(GPtrArray) helpers = g_ptr_array_new_with_free_func ((GDestroyNotify) test_helper_free);
  g_autofree char *count = g_strdup_printf ("%u", n);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GBytes) blob = NULL;
  g_autoptr(VmstateBlob) parsed = NULL;
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *id = g_strdup_printf ("helper-%02u", i);

      g_ptr_array_add (helpers, test_helper_spawn ("--id", id, "--barrier-dir", f->tmpdir,
                                                   "--barrier-count", count, NULL));
    }

  vmstate_collector_set_timeout_msec (f->collector, 20000);
  /* The async API, on the default main context. */
  vmstate_collector_save_async (f->collector, NULL, test_store_result, &result);
  blob = vmstate_collector_save_finish (f->collector, test_wait_result (&result), &error);
  g_assert_no_error (error);
  parsed = vmstate_blob_new_from_bytes (blob, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (vmstate_blob_get_n_entries (parsed), ==, n);
}

/* max-in-flight, with three times as many helpers as the window, in
 * one process that reports how many of its Saves run at once
 * (--report-running).
 *
 * With required Ids, the Saves are a phase of their own: exactly the
 * window of them runs at once (a barrier of that many makes sure they
 * get there). Without, each helper's Id query and its Save go out
 * together, two calls of the window: at most the window of Saves run at
 * once, and more than one (a barrier of two). */
static void
test_window (Fixture *f, gconstpointer data)
{
  const gboolean required = GPOINTER_TO_INT (data);
  const guint window = 4;
  const guint n = 3 * window;
  g_autofree char *count = g_strdup_printf ("%u", n);
  g_autofree char *barrier = g_strdup_printf ("%u", required ? window : 2);
  g_autoptr(TestHelper) helpers = test_helper_spawn ("--id", "w", "--count", count, "--report-running",
                                                     "--barrier-dir", f->tmpdir,
                                                     "--barrier-count", barrier, NULL);
  g_autoptr(GStrvBuilder) ids = g_strv_builder_new ();
  g_auto(GStrv) required_ids = NULL;
  g_autoptr(GBytes) blob = NULL;
  g_autoptr(VmstateBlob) parsed = NULL;
  g_autoptr(GError) error = NULL;
  guint most = 0;

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *id = g_strdup_printf ("w-%03u", i);

      g_strv_builder_add (ids, id);
    }
  required_ids = g_strv_builder_end (ids);
  if (required)
    vmstate_collector_set_required_ids (f->collector, (const char * const *) required_ids);
  vmstate_collector_set_max_in_flight (f->collector, window);
  vmstate_collector_set_timeout_msec (f->collector, 20000);

  blob = save_ok (f);
  parsed = vmstate_blob_new_from_bytes (blob, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (vmstate_blob_get_n_entries (parsed), ==, n);

  /* one RUNNING line a Save, printed before it was answered */
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *line = test_helper_read_line (helpers, NULL);
      guint64 running;

      g_assert_true (g_str_has_prefix (line, "RUNNING "));
      running = g_ascii_strtoull (line + strlen ("RUNNING "), NULL, 10);
      most = MAX (most, running);
    }
  g_test_message ("at most %u Saves ran at once, with max-in-flight %u", most, window);
  if (required)
    g_assert_cmpuint (most, ==, window);
  else
    {
      g_assert_cmpuint (most, <=, window);
      g_assert_cmpuint (most, >=, 2);
    }
}

/* A helper that fails the save in one way, beside one that does not:
 * the error's code, and what its message names besides the helper's
 * unique name. */
typedef struct
{
  const char *path;
  const char *args[5];
  int         code;
  const char *in_message[3];
} SaveFailure;

static const SaveFailure save_failures[] = {
  { "/collector/save/helper-error", { "--id", "bad", "--save-error", "disk on fire" },
    VMSTATE_ERROR_HELPER_FAILED, { "'bad'", "disk on fire" } },
  { "/collector/save/crash", { "--id", "dying", "--save-crash" },
    VMSTATE_ERROR_HELPER_VANISHED, { "'dying'" } },
  { "/collector/save/vanished", { "--id", "leaving", "--exit-on-id-read" },
    VMSTATE_ERROR_HELPER_VANISHED, { "'leaving'", "Save" } },
  { "/collector/save/bad-reply", { "--raw-wrong-reply", "--id", "wrong" },
    VMSTATE_ERROR_BAD_REPLY, { "'wrong'", "(s)" } },
  { "/collector/save/invalid-id/empty", { "--raw-id-len", "0" },
    VMSTATE_ERROR_INVALID_ID, { "empty" } },
  { "/collector/save/invalid-id/long", { "--raw-id-len", "256" },
    VMSTATE_ERROR_INVALID_ID, { "256 bytes" } },
  { "/collector/save/invalid-id/not-string", { "--raw-id-type", "i" },
    VMSTATE_ERROR_INVALID_ID, { "not a string" } },
  { "/collector/save/invalid-id/missing", { "--raw-no-object" },
    VMSTATE_ERROR_HELPER_FAILED, { "the Id query", "/org/qemu/VMState1" } },
};

static void
test_save_failure (Fixture *f, gconstpointer data)
{
  const SaveFailure *failure = data;
  g_autoptr(TestHelper) good = test_helper_spawn ("--id", "good", NULL);
  g_autoptr(TestHelper) bad = test_helper_spawnv (failure->args);

  save_fails (f, failure->code, bad->unique_name, failure->in_message[0], failure->in_message[1],
              failure->in_message[2], NULL);
}

static void
test_save_error_long_id (Fixture *f, gconstpointer data)
{
  g_autofree char *id = g_strnfill (255, 'i');
  g_autofree char *head = g_strnfill (64, 'i');
  g_autoptr(TestHelper) bad = test_helper_spawn ("--id", id, "--save-error", "disk on fire", NULL);
  g_autofree char *quoted = g_strdup_printf ("helper '%s…' (%s) failed Save", head, bad->unique_name);
  g_autoptr(GPtrArray) failed = NULL;
  g_autoptr(GError) error = NULL;

  save_fails (f, VMSTATE_ERROR_HELPER_FAILED, quoted, "disk on fire", NULL);
  g_assert_null (save_failed_helpers (f, &failed, &error));
  g_assert_null (strstr (error->message, id));
  g_assert_cmpuint (failed->len, ==, 1);
  assert_helper (failed->pdata[0], id, bad->unique_name, 0);
}

static void
test_save_timeout (Fixture *f, gconstpointer data)
{
  g_autoptr(TestHelper) ok = test_helper_spawn ("--id", "good", NULL);
  g_autoptr(TestHelper) slow = test_helper_spawn ("--id", "slow", "--save-delay-ms", "60000", NULL);

  vmstate_collector_set_timeout_msec (f->collector, 300);
  save_fails (f, VMSTATE_ERROR_TIMED_OUT, "'slow'", slow->unique_name, "300 ms", NULL);
}

static void
test_save_too_large_collector (Fixture *f, gconstpointer data)
{
  /* The helper allows it, the collector does not (QEMU's 1 MiB). */
  g_autoptr(TestHelper) big = test_helper_spawn ("--id", "big", "--state-size", "1048577",
                                                 "--max-state-size", "2097152", NULL);

  save_fails (f, VMSTATE_ERROR_STATE_TOO_LARGE, "'big'", big->unique_name, "1048577", NULL);
}

static void
test_save_too_large_service (Fixture *f, gconstpointer data)
{
  /* The helper itself refuses; its error code survives the bus. */
  g_autoptr(TestHelper) big = test_helper_spawn ("--id", "big", "--state-size", "1048577", NULL);

  vmstate_collector_set_max_state_size (f->collector, 4 * 1048576);
  save_fails (f, VMSTATE_ERROR_STATE_TOO_LARGE, "'big'", big->unique_name,
              "org.libvmstate.Error.StateTooLarge", NULL);
}

static void
test_save_max_size_exact (Fixture *f, gconstpointer data)
{
  g_autoptr(TestHelper) big = test_helper_spawn ("--id", "big", "--state-size", "1048576", NULL);
  g_autoptr(GBytes) blob = save_ok (f);

  g_assert_cmpuint (g_bytes_get_size (blob), ==, 4 + 4 + 3 + 4 + 1048576);
}

static void
test_save_duplicate (Fixture *f, gconstpointer data)
{
  g_autoptr(TestHelper) a = test_helper_spawn ("--id", "same", NULL);
  g_autoptr(TestHelper) b = test_helper_spawn ("--id", "same", NULL);
  g_autoptr(TestHelper) other = test_helper_spawn ("--id", "other", NULL);
  g_autofree char *pid_a = g_strdup_printf ("%s (pid %u)", a->unique_name, a->pid);
  g_autofree char *pid_b = g_strdup_printf ("%s (pid %u)", b->unique_name, b->pid);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) helpers = NULL;
  g_autoptr(GPtrArray) failed = NULL;
  TestHelper *first, *second;

  save_fails (f, VMSTATE_ERROR_DUPLICATE_ID, "2 helpers have the Id 'same'", pid_a, pid_b, NULL);
  g_assert_null (save_failed_helpers (f, &failed, &error));
  g_assert_error (error, VMSTATE_ERROR, VMSTATE_ERROR_DUPLICATE_ID);
  g_assert_cmpuint (failed->len, ==, 2);
  /* sorted by unique name */
  first = strcmp (a->unique_name, b->unique_name) < 0 ? a : b;
  second = first == a ? b : a;
  assert_helper (failed->pdata[0], "same", first->unique_name, first->pid);
  assert_helper (failed->pdata[1], "same", second->unique_name, second->pid);

  g_clear_error (&error);
  helpers = vmstate_collector_list_helpers_sync (f->collector, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (helpers->len, ==, 3);
  assert_helper (helpers->pdata[0], "other", other->unique_name, other->pid);
  assert_helper (helpers->pdata[1], "same", first->unique_name, first->pid);
  assert_helper (helpers->pdata[2], "same", second->unique_name, second->pid);
}

/* With required-ids, helpers outside the list do not matter, as with
 * QEMU's id-list: two strays sharing an Id, and one with an invalid Id,
 * fail neither the save nor the load. */
static void
test_required_ignores_strays (Fixture *f, gconstpointer data)
{
  g_autoptr(TestHelper) a = test_helper_spawn ("--id", "a", "--state-seed", "3", NULL);
  g_autoptr(TestHelper) s1 = test_helper_spawn ("--id", "stray", "--save-error", "must not be called",
                                                "--load-error", "must not be called", NULL);
  g_autoptr(TestHelper) s2 = test_helper_spawn ("--id", "stray", "--save-error", "must not be called",
                                                "--load-error", "must not be called", NULL);
  g_autoptr(TestHelper) s3 = test_helper_spawn ("--raw-id-len", "300", NULL);
  const char *ids[] = { "a", NULL };
  g_autoptr(GBytes) blob = NULL;
  g_autoptr(VmstateBlob) parsed = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) state = test_make_state (16, 3);

  vmstate_collector_set_required_ids (f->collector, ids);
  blob = save_ok (f);
  parsed = vmstate_blob_new_from_bytes (blob, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (vmstate_blob_get_n_entries (parsed), ==, 1);
  g_assert_true (g_bytes_equal (vmstate_blob_get_state (parsed, "a"), state));

  load_succeeds (f, blob);
  test_helper_expect_loaded (a, state);
}

/* A listed Id held twice is still an error, for save and load, naming
 * both holders with their pids; the strays beside them are not named. */
static void
test_required_duplicate (Fixture *f, gconstpointer data)
{
  g_autoptr(TestHelper) a1 = test_helper_spawn ("--id", "a", NULL);
  g_autoptr(TestHelper) a2 = test_helper_spawn ("--id", "a", NULL);
  g_autoptr(TestHelper) s1 = test_helper_spawn ("--id", "stray", NULL);
  g_autoptr(TestHelper) s2 = test_helper_spawn ("--id", "stray", NULL);
  g_autoptr(GBytes) blob = test_blob_of ("a", test_make_state (4, 0), NULL);
  const char *ids[] = { "a", NULL };
  g_autofree char *pid1 = g_strdup_printf ("%s (pid %u)", a1->unique_name, a1->pid);
  g_autofree char *pid2 = g_strdup_printf ("%s (pid %u)", a2->unique_name, a2->pid);

  vmstate_collector_set_required_ids (f->collector, ids);
  save_fails (f, VMSTATE_ERROR_DUPLICATE_ID, "'a'", pid1, pid2, NULL);

  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(GPtrArray) failed = NULL;
      g_autoptr(GError) error = NULL;

      if (i == 0)
        g_assert_null (save_failed_helpers (f, &failed, &error));
      else
        g_assert_false (load_failed_helpers (f, blob, &failed, &error));
      g_assert_error (error, VMSTATE_ERROR, VMSTATE_ERROR_DUPLICATE_ID);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, pid1));
      g_assert_nonnull (strstr (error->message, pid2));
      g_assert_null (strstr (error->message, "stray"));
      g_assert_cmpuint (failed->len, ==, 2);
      for (guint j = 0; j < 2; j++)
        {
          VmstateHelper *h = failed->pdata[j];
          TestHelper *t = g_str_equal (vmstate_helper_get_unique_name (h), a1->unique_name) ? a1 : a2;

          assert_helper (h, "a", t->unique_name, t->pid);
        }
    }
}

/* A failure of @code that @helper (NULL: no helper), with the Id @id,
 * is the one failed helper of; clears @error and @failed for the next
 * call. */
static void
assert_failed_and_clear (GError **error, GPtrArray **failed, int code,
                         const char *id, TestHelper *helper)
{
  g_assert_error (*error, VMSTATE_ERROR, code);
  g_assert_cmpuint ((*failed)->len, ==, helper != NULL ? 1 : 0);
  if (helper != NULL)
    assert_helper ((*failed)->pdata[0], id, helper->unique_name, 0);
  g_clear_pointer (failed, g_ptr_array_unref);
  g_clear_error (error);
}

/* The failed helper of each kind of failure, from the result alone;
 * none for a success or a failure that is no helper's. */
static void
test_failed_helpers (Fixture *f, gconstpointer data)
{
  g_autoptr(TestHelper) good = test_helper_spawn ("--id", "good", NULL);
  g_autoptr(TestHelper) bad = test_helper_spawn ("--id", "bad", "--save-error", "disk on fire",
                                                 "--load-error", "wrong version", NULL);
  g_autoptr(GPtrArray) failed = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) blob = NULL;
  g_autoptr(GBytes) loadable = test_blob_of ("good", test_make_state (4, 0),
                                        "bad", test_make_state (4, 0), NULL);
  g_autoptr(GBytes) ghost = test_blob_of ("ghost", test_make_state (4, 0), NULL);
  const char *ids[] = { "good", NULL };

  g_assert_null (save_failed_helpers (f, &failed, &error));
  assert_failed_and_clear (&error, &failed, VMSTATE_ERROR_HELPER_FAILED, "bad", bad);

  g_assert_false (load_failed_helpers (f, loadable, &failed, &error));
  assert_failed_and_clear (&error, &failed, VMSTATE_ERROR_HELPER_FAILED, "bad", bad);

  /* no helper's fault: an entry without a helper */
  g_assert_false (load_failed_helpers (f, ghost, &failed, &error));
  assert_failed_and_clear (&error, &failed, VMSTATE_ERROR_MISSING_HELPER, NULL, NULL);

  /* a success */
  vmstate_collector_set_required_ids (f->collector, ids);
  blob = save_failed_helpers (f, &failed, &error);
  g_assert_no_error (error);
  g_assert_nonnull (blob);
  g_assert_cmpuint (failed->len, ==, 0);
}

/* An invalid Id is named by the failed helper whole, and cut short in
 * the message. */
static void
test_failed_helper_invalid_id (Fixture *f, gconstpointer data)
{
  g_autoptr(TestHelper) bad = test_helper_spawn ("--raw-id-len", "300", NULL);
  g_autofree char *id = g_strnfill (300, 'x');
  g_autoptr(GPtrArray) failed = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_null (save_failed_helpers (f, &failed, &error));
  g_assert_error (error, VMSTATE_ERROR, VMSTATE_ERROR_INVALID_ID);
  g_assert_null (strstr (error->message, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"));
  g_assert_cmpuint (failed->len, ==, 1);
  assert_helper (failed->pdata[0], id, bad->unique_name, 0);
}

/* A required Id of 300 characters, missing: the message shows 64 of
 * them and "…". */
static void
test_required_missing_long_id (Fixture *f, gconstpointer data)
{
  g_autofree char *id = g_strnfill (300, 'z');
  g_autofree char *shown = g_strdup_printf ("'%.64s…'", id);
  const char *ids[] = { id, NULL };
  g_autoptr(GError) error = NULL;

  vmstate_collector_set_required_ids (f->collector, ids);
  save_fails (f, VMSTATE_ERROR_MISSING_HELPER, shown, NULL);
  g_assert_null (vmstate_collector_save_sync (f->collector, NULL, &error));
  g_assert_null (strstr (error->message, id));
}

/* A state over 32 MiB through a bus with dbus-daemon's default limits
 * (GTestDBus sets none): the bus disconnects the helper whose reply is
 * too large, or the collector whose Load is; the error names the bus's
 * max_message_size. */
static void
test_over_bus_message_limit (Fixture *f, gconstpointer data)
{
  const char *size = "41943040";  /* 40 MiB */
  g_autoptr(TestHelper) big = test_helper_spawn ("--id", "big", "--state-size", size,
                                                 "--max-state-size", "67108864", NULL);

  vmstate_collector_set_max_state_size (f->collector, 64 * 1024 * 1024);
  save_fails (f, VMSTATE_ERROR_HELPER_VANISHED, "'big'", "max_message_size", "32 MiB", NULL);
}

static void
test_over_bus_message_limit_load (Fixture *f, gconstpointer data)
{
  g_autoptr(TestHelper) big = test_helper_spawn ("--id", "big", "--max-state-size", "67108864", NULL);
  g_autoptr(GBytes) blob = test_blob_of ("big", test_make_state (40 * 1024 * 1024, 1), NULL);

  vmstate_collector_set_max_state_size (f->collector, 64 * 1024 * 1024);
  load_fails (f, blob, VMSTATE_ERROR_FAILED, "max_message_size");
}

static void
test_required_subset (Fixture *f, gconstpointer data)
{
  g_autoptr(TestHelper) a = test_helper_spawn ("--id", "a", NULL);
  g_autoptr(TestHelper) b = test_helper_spawn ("--id", "b", "--save-error", "must not be called", NULL);
  const char *ids[] = { "a", NULL };
  g_autoptr(GBytes) blob = NULL;
  g_autoptr(VmstateBlob) parsed = NULL;
  g_autoptr(GError) error = NULL;

  vmstate_collector_set_required_ids (f->collector, ids);
  blob = save_ok (f);
  parsed = vmstate_blob_new_from_bytes (blob, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (vmstate_blob_get_n_entries (parsed), ==, 1);
  g_assert_true (vmstate_blob_contains (parsed, "a"));
}

static void
test_required_missing (Fixture *f, gconstpointer data)
{
  g_autoptr(TestHelper) a = test_helper_spawn ("--id", "a", NULL);
  const char *ids[] = { "a", "zz", "yy", NULL };
  g_autoptr(GBytes) blob = test_blob_of ("a", test_make_state (3, 0), NULL);

  vmstate_collector_set_required_ids (f->collector, ids);
  save_fails (f, VMSTATE_ERROR_MISSING_HELPER, "'zz'", "'yy'", "2 required helpers", NULL);
  load_fails (f, blob, VMSTATE_ERROR_MISSING_HELPER, "'zz'");
}

/* After a refused load, a valid load must be the first one the helper
 * sees: proof that the refused one called nobody. */
static void
assert_nothing_loaded (Fixture *f, TestHelper *helper, const char *id)
{
  g_autoptr(GBytes) state = test_make_state (5, 99);
  g_autoptr(VmstateBlob) blob = vmstate_blob_new ();
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  const char * const *saved = vmstate_collector_get_required_ids (f->collector);
  g_auto(GStrv) required = g_strdupv ((char **) saved);

  vmstate_collector_set_required_ids (f->collector, NULL);
  vmstate_blob_add (blob, id, state, &error);
  g_assert_no_error (error);
  bytes = vmstate_blob_to_bytes (blob);
  load_succeeds (f, bytes);
  test_helper_expect_loaded (helper, state);
  vmstate_collector_set_required_ids (f->collector, (const char * const *) required);
}

/* Damaged versions of the 52-byte blob of a (10 bytes of state) and b
 * (20): count [0, 4); a: Id length [4, 8), Id [8], state length [9, 13),
 * state [13, 23); b: Id length [23, 27), Id [27], state length [28, 32),
 * state [32, 52). */
typedef struct
{
  const char *what;
  int         resize;        /* < 0: cut this many bytes; > 0: add zeros */
  struct { int at; guint8 value; } patch[2];   /* at 0: none */
  int         code;
  const char *in_message;
} Damage;

static const Damage damages[] = {
  { "truncated: the last byte of b's state is missing", -1, { }, VMSTATE_ERROR_INVALID_BLOB, "'b'" },
  { "too short for the count", -49, { }, VMSTATE_ERROR_INVALID_BLOB, "too short" },
  { "a count larger than the entries", 0, { { 3, 3 } }, VMSTATE_ERROR_INVALID_BLOB, "entr" },
  { "a state length past the end: a's says 0xffff", 0, { { 11, 0xff }, { 12, 0xff } },
    VMSTATE_ERROR_INVALID_BLOB, "'a'" },
  { "an Id length of 0", 0, { { 7, 0 } }, VMSTATE_ERROR_INVALID_ID, "empty" },
  { "an Id length of 256", 0, { { 6, 1 }, { 7, 0 } }, VMSTATE_ERROR_INVALID_BLOB, NULL },
  { "duplicate Ids: b renamed a", 0, { { 27, 'a' } }, VMSTATE_ERROR_DUPLICATE_ID, "'a'" },
  { "non-zero bytes after the entries", 8, { { 57, 1 } }, VMSTATE_ERROR_INVALID_BLOB, "non-zero" },
};

static void
test_load_invalid (Fixture *f, gconstpointer data)
{
  g_autoptr(TestHelper) a = test_helper_spawn ("--id", "a", NULL);
  g_autoptr(TestHelper) b = test_helper_spawn ("--id", "b", NULL);
  g_autoptr(GBytes) good = test_blob_of ("a", test_make_state (10, 1), "b", test_make_state (20, 2), NULL);

  g_assert_cmpuint (g_bytes_get_size (good), ==, 52);
  for (guint i = 0; i < G_N_ELEMENTS (damages); i++)
    {
      const Damage *d = &damages[i];
      g_autoptr(GByteArray) buf = g_byte_array_new ();
      g_autoptr(GBytes) bad = NULL;

      g_test_message ("%s", d->what);
      g_byte_array_append (buf, g_bytes_get_data (good, NULL), g_bytes_get_size (good));
      g_byte_array_set_size (buf, buf->len + d->resize);
      memset (buf->data + 52, 0, MAX (d->resize, 0));
      for (guint j = 0; j < G_N_ELEMENTS (d->patch) && d->patch[j].at != 0; j++)
        buf->data[d->patch[j].at] = d->patch[j].value;
      bad = g_byte_array_free_to_bytes (g_steal_pointer (&buf));
      load_fails (f, bad, d->code, d->in_message);
    }
  /* an unknown Id */
  {
    g_autoptr(GBytes) bad = test_blob_of ("a", test_make_state (1, 1), "ghost", test_make_state (1, 1), NULL);
    load_fails (f, bad, VMSTATE_ERROR_MISSING_HELPER, "'ghost'");
  }
  /* a state over max-state-size */
  {
    g_autoptr(GBytes) bad = test_blob_of ("a", test_make_state (1048577, 1), NULL);
    load_fails (f, bad, VMSTATE_ERROR_STATE_TOO_LARGE, "'a'");
  }

  assert_nothing_loaded (f, a, "a");
  assert_nothing_loaded (f, b, "b");
}

static void
test_load_padded (Fixture *f, gconstpointer data)
{
  /* QEMU pads its payload with zeros: 16 bytes of state give 32. */
  g_autoptr(TestHelper) a = test_helper_spawn ("--id", "a", NULL);
  g_autoptr(GBytes) state = test_make_state (5, 7);
  g_autoptr(GBytes) good = test_blob_of ("a", g_bytes_ref (state), NULL);
  g_autoptr(GByteArray) padded = g_byte_array_new ();
  g_autoptr(GBytes) bytes = NULL;
  static const guint8 zeros[32] = { 0 };

  g_byte_array_append (padded, g_bytes_get_data (good, NULL), g_bytes_get_size (good));
  g_byte_array_append (padded, zeros, 32 - padded->len);
  bytes = g_byte_array_free_to_bytes (g_steal_pointer (&padded));
  load_succeeds (f, bytes);
  test_helper_expect_loaded (a, state);
}

static void
test_load_error (Fixture *f, gconstpointer data)
{
  g_autoptr(TestHelper) a = test_helper_spawn ("--id", "a", "--load-error", "version 9 is newer than 2", NULL);
  g_autoptr(GBytes) blob = test_blob_of ("a", test_make_state (4, 0), NULL);

  load_fails (f, blob, VMSTATE_ERROR_HELPER_FAILED, "version 9 is newer than 2");
  {
    g_autoptr(GError) error = NULL;
    vmstate_collector_load_sync (f->collector, blob, NULL, &error);
    g_assert_nonnull (strstr (error->message, a->unique_name));
    g_assert_nonnull (strstr (error->message, "'a'"));
  }
}

static void
test_load_crash (Fixture *f, gconstpointer data)
{
  g_autoptr(TestHelper) a = test_helper_spawn ("--id", "a", "--load-crash", NULL);
  g_autoptr(GBytes) blob = test_blob_of ("a", test_make_state (4, 0), NULL);

  load_fails (f, blob, VMSTATE_ERROR_HELPER_VANISHED, a->unique_name);
}

static void
test_load_required_state_missing (Fixture *f, gconstpointer data)
{
  g_autoptr(TestHelper) a = test_helper_spawn ("--id", "a", NULL);
  g_autoptr(TestHelper) b = test_helper_spawn ("--id", "b", NULL);
  const char *ids[] = { "a", "b", NULL };
  g_autoptr(GBytes) blob = test_blob_of ("a", test_make_state (4, 0), NULL);

  vmstate_collector_set_required_ids (f->collector, ids);
  load_fails (f, blob, VMSTATE_ERROR_MISSING_STATE, "'b'");
  assert_nothing_loaded (f, a, "a");
}

static void
test_load_extra_helper (Fixture *f, gconstpointer data)
{
  /* Like QEMU: a helper on the bus without an entry is left alone. */
  g_autoptr(TestHelper) a = test_helper_spawn ("--id", "a", NULL);
  g_autoptr(TestHelper) extra = test_helper_spawn ("--id", "extra", "--load-error", "must not be called", NULL);
  g_autoptr(GBytes) state = test_make_state (4, 0);
  g_autoptr(GBytes) blob = test_blob_of ("a", g_bytes_ref (state), NULL);

  load_succeeds (f, blob);
  test_helper_expect_loaded (a, state);
}

static void
test_cancel (Fixture *f, gconstpointer data)
{
  g_autoptr(TestHelper) slow = test_helper_spawn ("--id", "slow", "--save-delay-ms", "60000", NULL);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) blob = NULL;

  g_cancellable_cancel (cancellable);
  blob = vmstate_collector_save_sync (f->collector, cancellable, &error);
  g_assert_null (blob);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

typedef struct
{
  TestHelper   *slow;
  GCancellable *cancellable;
  gint64        cancelled_at;
} Canceller;

/* In a thread of its own, while save_sync() blocks the test's: cancels
 * once the slow helper is inside its Save. */
static gpointer
cancel_when_inside (gpointer user_data)
{
  Canceller *c = user_data;
  g_autofree char *line = test_helper_read_line (c->slow, NULL);

  g_assert_cmpstr (line, ==, "SAVE slow");
  c->cancelled_at = g_get_monotonic_time ();
  g_cancellable_cancel (c->cancellable);
  return NULL;
}

/* A save cancelled in flight, through the async API or the sync one:
 * the slow helper has taken its Save, which it never answers, so only
 * the cancellation or the timeout of 30 s can end the save. It ends at
 * once with CANCELLED; the collector takes new operations, and nothing
 * of the cancelled one still holds the collector. */
static void
test_cancel_in_flight (Fixture *f, gconstpointer data)
{
  const gboolean sync = GPOINTER_TO_INT (data);
  g_autoptr(TestHelper) ok = test_helper_spawn ("--id", "good", NULL);
  g_autoptr(TestHelper) slow = test_helper_spawn ("--id", "slow", "--hang", "save", "--report", NULL);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GPtrArray) helpers = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) blob = NULL;
  VmstateCollector *collector = f->collector;
  Canceller c = { slow, cancellable, 0 };
  gint64 took;

  vmstate_collector_set_timeout_msec (f->collector, 30000);
  if (sync)
    {
      GThread *thread = g_thread_new ("canceller", cancel_when_inside, &c);

      blob = vmstate_collector_save_sync (f->collector, cancellable, &error);
      g_thread_join (thread);
    }
  else
    {
      g_autoptr(GAsyncResult) result = NULL;

      test_save_until_inside (f->collector, cancellable, slow, &result);
      c.cancelled_at = g_get_monotonic_time ();
      g_cancellable_cancel (cancellable);
      blob = vmstate_collector_save_finish (f->collector, test_wait_result (&result), &error);
    }
  took = g_get_monotonic_time () - c.cancelled_at;
  g_test_message ("the save ended %" G_GINT64_FORMAT " ms after the cancellation", took / 1000);
  g_assert_null (blob);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (took, <, 5 * G_USEC_PER_SEC);

  g_clear_error (&error);
  helpers = vmstate_collector_list_helpers_sync (f->collector, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (helpers->len, ==, 2);

  g_object_add_weak_pointer (G_OBJECT (collector), (gpointer *) &collector);
  g_clear_object (&f->collector);
  g_assert_null (collector);
}

/* In a fresh process, the very first error a helper sends keeps its
 * code: the error domain is registered before any call can fail. */
static void
test_first_error_keeps_code (Fixture *f, gconstpointer data)
{
  if (g_test_subprocess ())
    {
      g_autoptr(TestHelper) bare = test_helper_spawn ("--id", "bare", "--no-save", NULL);
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) blob = vmstate_collector_save_sync (f->collector, NULL, &error);

      /* compared without evaluating VMSTATE_ERROR, which would
       * register the domain */
      g_assert_null (blob);
      g_assert_nonnull (error);
      g_printerr ("save: %s\n", error->message);
      g_assert_cmpstr (g_quark_to_string (error->domain), ==, "vmstate-error-quark");
      g_assert_cmpint (error->code, ==, VMSTATE_ERROR_NOT_SUPPORTED);
      return;
    }

  g_test_trap_subprocess (NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

static void
test_bad_address (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmstateCollector) c =
    vmstate_collector_new_for_address_sync ("unix:path=/nonexistent/vmstate-bus", NULL, &error);

  g_assert_null (c);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "/nonexistent/vmstate-bus"));
}

static void
assert_no_connection_error (const GError *error)
{
  g_assert_error (error, VMSTATE_ERROR, VMSTATE_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "no connection"));
  g_assert_nonnull (strstr (error->message, "vmstate_collector_new"));
}

/* The body of /collector/no-connection, in a subprocess with a timeout:
 * before the fix, save_sync never returned (or GDBus's critical
 * aborted). */
static void
no_connection_body (void)
{
  g_autoptr(VmstateCollector) collector = NULL;
  g_autoptr(GBytes) blob = test_blob_of ("a", test_make_state (4, 0), NULL);
  g_autoptr(GAsyncResult) r_list = NULL, r_save = NULL, r_load = NULL;
  g_autoptr(GPtrArray) helpers = NULL;
  g_autoptr(GBytes) saved = NULL;
  g_autoptr(GBytes) garbage = g_bytes_new_static ("x", 1);
  GError *error = NULL;

  /* The construction warns (the parent checks the message): let the
   * warning through, criticals stay fatal. g_test_expect_message() does
   * not see structured logging in GLib 2.74. */
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL);
  collector = g_object_new (VMSTATE_TYPE_COLLECTOR, NULL);
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  g_assert_null (vmstate_collector_get_connection (collector));

  helpers = vmstate_collector_list_helpers_sync (collector, NULL, &error);
  g_assert_null (helpers);
  assert_no_connection_error (error);
  g_clear_error (&error);

  saved = vmstate_collector_save_sync (collector, NULL, &error);
  g_assert_null (saved);
  assert_no_connection_error (error);
  g_clear_error (&error);

  g_assert_false (vmstate_collector_load_sync (collector, blob, NULL, &error));
  assert_no_connection_error (error);
  g_clear_error (&error);

  /* an invalid blob: the missing connection is still what is reported */
  g_assert_false (vmstate_collector_load_sync (collector, garbage, NULL, &error));
  assert_no_connection_error (error);
  g_clear_error (&error);

  vmstate_collector_list_helpers_async (collector, NULL, test_store_result, &r_list);
  g_assert_null (vmstate_collector_list_helpers_finish (collector, test_wait_result (&r_list), &error));
  assert_no_connection_error (error);
  g_clear_error (&error);

  vmstate_collector_save_async (collector, NULL, test_store_result, &r_save);
  g_assert_null (vmstate_collector_save_finish (collector, test_wait_result (&r_save), &error));
  assert_no_connection_error (error);
  g_clear_error (&error);

  vmstate_collector_load_async (collector, blob, NULL, test_store_result, &r_load);
  g_assert_false (vmstate_collector_load_finish (collector, test_wait_result (&r_load), &error));
  assert_no_connection_error (error);
  g_clear_error (&error);
}

static void
test_no_connection (void)
{
  if (g_test_subprocess ())
    {
      no_connection_body ();
      return;
    }
  /* 20 s: the body takes milliseconds; a hang is the bug. */
  g_test_trap_subprocess (NULL, 20 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("*Vmstate-WARNING*created without a connection*"
                             "vmstate_collector_new()*vmstate_collector_new_for_address()*");
}

/* The preconditions of a _finish() check the collector itself first (in
 * a subprocess: the critical is fatal), not only the result. */
static void
test_finish_precondition (gconstpointer data)
{
  const char *which = data;

  if (g_test_subprocess ())
    {
      g_autoptr(VmstateCollector) collector = NULL;
      g_autoptr(GBytes) blob = test_blob_of ("a", test_make_state (4, 0), NULL);
      g_autoptr(GAsyncResult) result = NULL;

      g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL);
      collector = g_object_new (VMSTATE_TYPE_COLLECTOR, NULL);  /* warns */
      if (g_str_equal (which, "list"))
        {
          vmstate_collector_list_helpers_async (collector, NULL, test_store_result, &result);
          vmstate_collector_list_helpers_finish (NULL, test_wait_result (&result), NULL);
        }
      else if (g_str_equal (which, "save"))
        {
          vmstate_collector_save_async (collector, NULL, test_store_result, &result);
          vmstate_collector_save_finish (NULL, test_wait_result (&result), NULL);
        }
      else
        {
          vmstate_collector_load_async (collector, blob, NULL, test_store_result, &result);
          vmstate_collector_load_finish (NULL, test_wait_result (&result), NULL);
        }
      return;
    }
  g_test_trap_subprocess (NULL, 20 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*_finish: assertion 'VMSTATE_IS_COLLECTOR (self)' failed*");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func, data) \
  g_test_add (path, Fixture, data, fixture_setup, func, fixture_teardown)

  ADD ("/collector/list", test_list, NULL);
  ADD ("/collector/empty-bus", test_empty_bus, NULL);
  ADD ("/collector/roundtrip", test_roundtrip, NULL);
  ADD ("/collector/save/concurrent", test_concurrent, NULL);
  ADD ("/collector/save/window", test_window, GINT_TO_POINTER (TRUE));
  ADD ("/collector/save/window/pipelined", test_window, GINT_TO_POINTER (FALSE));
  for (guint i = 0; i < G_N_ELEMENTS (save_failures); i++)
    ADD (save_failures[i].path, test_save_failure, &save_failures[i]);
  ADD ("/collector/save/helper-error/long-id", test_save_error_long_id, NULL);
  ADD ("/collector/save/timeout", test_save_timeout, NULL);
  ADD ("/collector/save/too-large/collector", test_save_too_large_collector, NULL);
  ADD ("/collector/save/too-large/service", test_save_too_large_service, NULL);
  ADD ("/collector/save/max-size-exact", test_save_max_size_exact, NULL);
  ADD ("/collector/save/duplicate-id", test_save_duplicate, NULL);
  ADD ("/collector/save/cancel", test_cancel, NULL);
  ADD ("/collector/save/cancel/in-flight", test_cancel_in_flight, GINT_TO_POINTER (FALSE));
  ADD ("/collector/save/cancel/in-flight/sync", test_cancel_in_flight, GINT_TO_POINTER (TRUE));
  ADD ("/collector/required/subset", test_required_subset, NULL);
  ADD ("/collector/required/missing", test_required_missing, NULL);
  ADD ("/collector/required/missing/long-id", test_required_missing_long_id, NULL);
  ADD ("/collector/required/ignores-strays", test_required_ignores_strays, NULL);
  ADD ("/collector/required/duplicate-id", test_required_duplicate, NULL);
  ADD ("/collector/failed-helpers", test_failed_helpers, NULL);
  ADD ("/collector/failed-helpers/invalid-id", test_failed_helper_invalid_id, NULL);
  ADD ("/collector/save/over-bus-message-limit", test_over_bus_message_limit, NULL);
  ADD ("/collector/load/over-bus-message-limit", test_over_bus_message_limit_load, NULL);
  ADD ("/collector/load/invalid", test_load_invalid, NULL);
  ADD ("/collector/load/padded", test_load_padded, NULL);
  ADD ("/collector/load/helper-error", test_load_error, NULL);
  ADD ("/collector/load/crash", test_load_crash, NULL);
  ADD ("/collector/load/required-state-missing", test_load_required_state_missing, NULL);
  ADD ("/collector/load/extra-helper", test_load_extra_helper, NULL);
  g_test_add_func ("/collector/bad-address", test_bad_address);
  ADD ("/collector/error/first-error-keeps-code", test_first_error_keeps_code, NULL);
  g_test_add_func ("/collector/no-connection", test_no_connection);
  g_test_add_data_func ("/collector/precondition/list-finish", "list", test_finish_precondition);
  g_test_add_data_func ("/collector/precondition/save-finish", "save", test_finish_precondition);
  g_test_add_data_func ("/collector/precondition/load-finish", "load", test_finish_precondition);

  return g_test_run ();
}
