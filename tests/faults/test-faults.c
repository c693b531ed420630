/* test-faults.c: fault injection with real processes on a real
 * dbus-daemon
 *
 * Helpers SIGKILLed in the middle of Save and of Load, a helper that
 * never answers Load, the bus daemon killed during a save, 256 helpers on
 * one bus, Ids that are megabytes long or not strings, a client calling
 * Load with 100 MiB, a helper answering Save with the wrong signature.
 * Each must end in a clear error naming the helper, with this (the
 * calling) process still up and able to carry on; the valgrind and asan
 * test setups check that nothing leaks.
 *
 * (test-collector.c covers a helper that crashes from inside its own Save
 * or Load, a Save timeout, errors and the Id checks at small sizes; these
 * are the faults from outside.)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "faults-bus.h"

/* A clear error is short enough to read, whatever the helper sent. */
#define MAX_MESSAGE_LEN 1024

static void
assert_clear_error (const GError *error,
                    int           code,
                    const char   *first_needle,
                    ...)
{
  va_list ap;

  va_start (ap, first_needle);
  test_assert_failed (error, VMSTATE_ERROR, code, first_needle, ap);
  va_end (ap);
  g_assert_cmpuint (strlen (error->message), <, MAX_MESSAGE_LEN);
}

static void
save_succeeds_with (VmstateCollector *collector,
                    guint             n_entries)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) blob = vmstate_collector_save_sync (collector, NULL, &error);
  g_autoptr(VmstateBlob) parsed = NULL;

  g_assert_no_error (error);
  parsed = vmstate_blob_new_from_bytes (blob, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (vmstate_blob_get_n_entries (parsed), ==, n_entries);
}

/* A save in flight: helper net0 answers, fw is inside its Save and
 * never answers it. */
typedef struct
{
  FaultsBus        *bus;
  TestHelper       *ok;
  TestHelper       *hung;
  VmstateCollector *collector;
  GAsyncResult     *result;
} SaveInFlight;

static void
save_in_flight_setup (SaveInFlight *f, gconstpointer data)
{
  f->bus = faults_bus_new (NULL, NULL);
  f->ok = test_helper_spawn (FAULTS_HELPER_ON (f->bus), "--id", "net0", NULL);
  f->hung = test_helper_spawn (FAULTS_HELPER_ON (f->bus), "--id", "fw", "--hang", "save", "--report", NULL);
  f->collector = faults_collector_new (f->bus);
  test_save_until_inside (f->collector, NULL, f->hung, &f->result);
}

static void
save_in_flight_teardown (SaveInFlight *f, gconstpointer data)
{
  g_clear_object (&f->result);
  g_object_unref (f->collector);
  test_helper_free (f->hung);
  test_helper_free (f->ok);
  faults_bus_free (f->bus);
}

static void
test_kill_in_save (SaveInFlight *f, gconstpointer data)
{
  g_autoptr(GBytes) blob = NULL;
  g_autoptr(GError) error = NULL;

  test_helper_kill (f->hung);
  blob = vmstate_collector_save_finish (f->collector, test_wait_result (&f->result), &error);
  g_assert_null (blob);
  assert_clear_error (error, VMSTATE_ERROR_HELPER_VANISHED, "'fw'", f->hung->unique_name,
                      "Save", NULL);

  /* The collector carries on with the helpers that are left. */
  save_succeeds_with (f->collector, 1);
}

static void
test_kill_in_load (void)
{
  g_autoptr(FaultsBus) bus = faults_bus_new (NULL, NULL);
  g_autoptr(TestHelper) ok = test_helper_spawn (FAULTS_HELPER_ON (bus), "--id", "net0", "--report", NULL);
  g_autoptr(TestHelper) victim = test_helper_spawn (FAULTS_HELPER_ON (bus), "--id", "fw", "--hang", "load",
                                                    "--report", NULL);
  g_autoptr(VmstateCollector) collector = faults_collector_new (bus);
  g_autoptr(GBytes) blob = test_blob_of ("fw", test_make_state (100, 7),
                                    "net0", test_make_state (200, 8), NULL);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;

  vmstate_collector_load_async (collector, blob, NULL, test_store_result, &result);
  line = test_helper_read_line (victim, g_main_context_default ());
  g_assert_true (g_str_has_prefix (line, "LOAD fw 100 "));
  test_helper_kill (victim);

  g_assert_false (vmstate_collector_load_finish (collector, test_wait_result (&result), &error));
  assert_clear_error (error, VMSTATE_ERROR_HELPER_VANISHED, "'fw'", victim->unique_name,
                      "Load", NULL);
  save_succeeds_with (collector, 1);
}

static void
test_load_never_answered (void)
{
  g_autoptr(FaultsBus) bus = faults_bus_new (NULL, NULL);
  g_autoptr(TestHelper) mute = test_helper_spawn (FAULTS_HELPER_ON (bus), "--id", "tpm", "--hang", "load", NULL);
  g_autoptr(VmstateCollector) collector = faults_collector_new (bus);
  g_autoptr(GBytes) blob = test_blob_of ("tpm", test_make_state (10, 1), NULL);
  g_autoptr(GError) error = NULL;

  vmstate_collector_set_timeout_msec (collector, 500);
  g_assert_false (vmstate_collector_load_sync (collector, blob, NULL, &error));
  assert_clear_error (error, VMSTATE_ERROR_TIMED_OUT, "'tpm'", mute->unique_name, "Load",
                      "500 ms", NULL);
  /* The mute helper still answers everything but Load. */
  save_succeeds_with (collector, 1);
}

static void
test_daemon_killed (SaveInFlight *f, gconstpointer data)
{
  g_autofree char *ok_name = NULL, *hung_name = NULL;
  g_autoptr(GBytes) blob = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) again = NULL;

  faults_bus_kill (f->bus);
  blob = vmstate_collector_save_finish (f->collector, test_wait_result (&f->result), &error);
  g_assert_null (blob);
  /* It names the helper whose call was cut: fw, or net0 if its answer
   * had not arrived yet either; by its unique name alone if the daemon
   * died before it passed on that helper's Id as well. */
  g_assert_nonnull (strstr (error->message, "during Save of helper "));
  ok_name = g_strconcat ("helper ", f->ok->unique_name, ":", NULL);
  hung_name = g_strconcat ("helper ", f->hung->unique_name, ":", NULL);
  g_assert_true (strstr (error->message, "'fw' (") != NULL ||
                 strstr (error->message, "'net0' (") != NULL ||
                 strstr (error->message, ok_name) != NULL ||
                 strstr (error->message, hung_name) != NULL);
  assert_clear_error (error, VMSTATE_ERROR_FAILED, "connection to the bus closed", NULL);

  /* Later operations fail cleanly too. */
  blob = vmstate_collector_save_sync (f->collector, NULL, &again);
  g_assert_null (blob);
  g_assert_nonnull (again);
  g_test_message ("then: %s", again->message);
  g_assert_true (g_dbus_connection_is_closed (vmstate_collector_get_connection (f->collector)));
  /* The helpers saw their bus go and left. */
  g_assert_true (g_subprocess_wait (f->ok->process, NULL, NULL));
  g_assert_true (g_subprocess_wait (f->hung->process, NULL, NULL));
}

#define MANY 256

static void
test_many_helpers (void)
{
  /* dbus-daemon's default of 256 connections per uid would refuse the
   * collector (257th): raise it. The limit on pending replies per
   * connection stays the default: the collector bounds its calls in
   * flight (max-in-flight) rather than fail. */
  g_autoptr(FaultsBus) bus = faults_bus_new (NULL,
                                             "<limit name=\"max_connections_per_user\">1024</limit>"
                                             "<limit name=\"max_completed_connections\">1024</limit>");
  g_autoptr(TestHelper) many = test_helper_spawn (FAULTS_HELPER_ON (bus), "--id", "h",
                                                  "--count", G_STRINGIFY (MANY),
                                                  "--state-size", "1024", "--report", NULL);
  g_autoptr(VmstateCollector) collector = faults_collector_new (bus);
  g_autoptr(GPtrArray) helpers = NULL;
  g_autoptr(GBytes) blob = NULL;
  g_autoptr(VmstateBlob) parsed = NULL;
  g_autoptr(GHashTable) loaded = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GError) error = NULL;

  helpers = vmstate_collector_list_helpers_sync (collector, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (helpers->len, ==, MANY);

  blob = vmstate_collector_save_sync (collector, NULL, &error);
  g_assert_no_error (error);
  parsed = vmstate_blob_new_from_bytes (blob, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (vmstate_blob_get_n_entries (parsed), ==, MANY);
  for (int i = 0; i < MANY; i++)
    {
      g_autofree char *id = g_strdup_printf ("h-%03d", i);
      g_autoptr(GBytes) expected = test_make_state (1024, i);

      g_assert_true (g_bytes_equal (vmstate_blob_get_state (parsed, id), expected));
    }
  for (int i = 0; i < MANY; i++)
    {
      g_autofree char *line = test_helper_read_line (many, NULL);
      g_assert_true (g_str_has_prefix (line, "SAVE h-"));
    }

  g_assert_true (vmstate_collector_load_sync (collector, blob, NULL, &error));
  g_assert_no_error (error);
  /* Every helper got exactly its own state. */
  for (int i = 0; i < MANY; i++)
    {
      g_autofree char *line = test_helper_read_line (many, NULL);
      g_auto(GStrv) words = g_strsplit (line, " ", 4);
      g_autoptr(GBytes) expected = NULL;
      g_autofree char *sum = NULL;

      g_assert_cmpstr (words[0], ==, "LOAD");
      expected = test_make_state (1024, atoi (words[1] + 2));
      sum = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, expected);
      g_assert_cmpstr (words[2], ==, "1024");
      g_assert_cmpstr (words[3], ==, sum);
      g_assert_true (g_hash_table_add (loaded, g_strdup (words[1])));
    }
  g_assert_cmpuint (g_hash_table_size (loaded), ==, MANY);
}

static void
test_id_megabytes (void)
{
  g_autoptr(FaultsBus) bus = faults_bus_new (NULL, NULL);
  g_autoptr(TestHelper) ok = test_helper_spawn (FAULTS_HELPER_ON (bus), "--id", "net0", NULL);
  g_autoptr(TestHelper) huge = test_helper_spawn (FAULTS_HELPER_ON (bus), "--raw-id-len", "4194304", NULL);
  g_autoptr(VmstateCollector) collector = faults_collector_new (bus);
  g_autoptr(GBytes) blob = NULL;
  g_autoptr(GPtrArray) helpers = NULL;
  g_autoptr(GError) error = NULL;

  blob = vmstate_collector_save_sync (collector, NULL, &error);
  g_assert_null (blob);
  assert_clear_error (error, VMSTATE_ERROR_INVALID_ID, huge->unique_name, "4194304 bytes", NULL);
  g_clear_error (&error);
  helpers = vmstate_collector_list_helpers_sync (collector, NULL, &error);
  g_assert_null (helpers);
  assert_clear_error (error, VMSTATE_ERROR_INVALID_ID, huge->unique_name, NULL);
}

static void
test_id_not_string (void)
{
  g_autoptr(FaultsBus) bus = faults_bus_new (NULL, NULL);
  g_autoptr(TestHelper) odd = test_helper_spawn (FAULTS_HELPER_ON (bus), "--raw-id-type", "i", NULL);
  g_autoptr(VmstateCollector) collector = faults_collector_new (bus);
  g_autoptr(GBytes) blob = NULL;
  g_autoptr(GError) error = NULL;

  blob = vmstate_collector_save_sync (collector, NULL, &error);
  g_assert_null (blob);
  assert_clear_error (error, VMSTATE_ERROR_INVALID_ID, odd->unique_name, "'i'", NULL);
}

static void
test_wrong_reply_signature (void)
{
  g_autoptr(FaultsBus) bus = faults_bus_new (NULL, NULL);
  g_autoptr(TestHelper) liar = test_helper_spawn (FAULTS_HELPER_ON (bus), "--id", "liar",
                                                  "--raw-wrong-reply", NULL);
  g_autoptr(VmstateCollector) collector = faults_collector_new (bus);
  g_autoptr(GBytes) blob = NULL;
  g_autoptr(GError) error = NULL;

  blob = vmstate_collector_save_sync (collector, NULL, &error);
  g_assert_null (blob);
  assert_clear_error (error, VMSTATE_ERROR_BAD_REPLY, "'liar'", liar->unique_name, "(s)", NULL);
}

static GError *
call_load (GDBusConnection *connection,
           const char      *dest,
           gsize            size)
{
  g_autoptr(GBytes) state = test_make_state (size, 3);
  g_autoptr(GVariant) reply = NULL;
  GError *error = NULL;

  reply = g_dbus_connection_call_sync (connection, dest, "/org/qemu/VMState1",
                                       "org.qemu.VMState1", "Load",
                                       g_variant_new ("(@ay)",
                                                      g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING,
                                                                                state, TRUE)),
                                       NULL, G_DBUS_CALL_FLAGS_NONE, 60000, NULL, &error);
  return error;
}

static void
test_load_100mib (void)
{
  /* Limits high enough for 100 MiB to reach the bus daemon at all. */
  g_autoptr(FaultsBus) bus = faults_bus_new (NULL,
                                             "<limit name=\"max_message_size\">134217728</limit>"
                                             "<limit name=\"max_incoming_bytes\">268435456</limit>"
                                             "<limit name=\"max_outgoing_bytes\">268435456</limit>");
  g_autoptr(TestHelper) target = test_helper_spawn (FAULTS_HELPER_ON (bus), "--id", "fw", "--report", NULL);
  g_autoptr(VmstateCollector) collector = faults_collector_new (bus);
  g_autoptr(GDBusConnection) client = NULL;
  g_autoptr(GBytes) blob = test_blob_of ("fw", test_make_state (10, 5), NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) small = test_make_state (10, 5);

  vmstate_error_quark ();  /* maps our D-Bus errors back to VMSTATE_ERROR */
  client = test_bus_connect (bus->address);

  /* 100 MiB: past the D-Bus limit of 64 MiB per array; it must never
   * reach the helper, whoever refuses it. */
  error = call_load (client, target->unique_name, 100 * 1024 * 1024);
  g_assert_nonnull (error);
  g_test_message ("100 MiB Load: %s", error->message);
  g_clear_error (&error);

  /* 40 MiB reaches the helper, which refuses it unread: its
   * max-state-size is 1 MiB. */
  if (g_dbus_connection_is_closed (client))
    {
      g_clear_object (&client);
      client = test_bus_connect (bus->address);
    }
  error = call_load (client, target->unique_name, 40 * 1024 * 1024);
  g_assert_error (error, VMSTATE_ERROR, VMSTATE_ERROR_STATE_TOO_LARGE);
  g_test_message ("40 MiB Load: %s", error->message);
  g_assert_nonnull (strstr (error->message, "'fw'"));
  g_clear_error (&error);

  /* The helper is up, and the first Load its vfunc sees is this one: the
   * big ones never got there. */
  g_assert_true (vmstate_collector_load_sync (collector, blob, NULL, &error));
  g_assert_no_error (error);
  test_helper_expect_state_line (target, "LOAD fw", small);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* A closed stdin pipe of a killed helper must not kill the test. */
  signal (SIGPIPE, SIG_IGN);

  g_test_add ("/faults/kill-in-save", SaveInFlight, NULL, save_in_flight_setup, test_kill_in_save,
              save_in_flight_teardown);
  g_test_add_func ("/faults/kill-in-load", test_kill_in_load);
  g_test_add_func ("/faults/load-never-answered", test_load_never_answered);
  g_test_add ("/faults/daemon-killed", SaveInFlight, NULL, save_in_flight_setup, test_daemon_killed,
              save_in_flight_teardown);
  g_test_add_func ("/faults/256-helpers", test_many_helpers);
  g_test_add_func ("/faults/id-megabytes", test_id_megabytes);
  g_test_add_func ("/faults/id-not-string", test_id_not_string);
  g_test_add_func ("/faults/wrong-reply-signature", test_wrong_reply_signature);
  g_test_add_func ("/faults/load-100mib", test_load_100mib);
  return g_test_run ();
}
