/* test-service-run.c: vmstate_service_run() in-process, on a real private
 * dbus-daemon (GTestDBus); test_runtime.py drives it in helper processes
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <stdlib.h>
#include <string.h>

#include "vmstate-test-util.h"

static guint n_notify_id;

static void
on_notify_id (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  n_notify_id++;
}

/* The Id can change until export, not while exported. */
static void
test_id_settable_until_export (void)
{
  g_autoptr(GTestDBus) bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_autoptr(GDBusConnection) connection = NULL;
  g_autoptr(VmstateService) service = NULL;
  g_autoptr(GError) error = NULL;

  g_test_dbus_up (bus);
  connection = test_bus_connect (g_test_dbus_get_bus_address (bus));

  service = g_object_new (VMSTATE_TYPE_SERVICE, "id", "first", NULL);
  n_notify_id = 0;
  g_signal_connect (service, "notify::id", G_CALLBACK (on_notify_id), NULL);
  vmstate_service_set_id (service, "second");
  vmstate_service_set_id (service, "second");  /* no change, no notify */
  g_object_set (service, "id", "third", NULL);
  g_assert_cmpstr (vmstate_service_get_id (service), ==, "third");
  g_assert_cmpuint (n_notify_id, ==, 2);

  g_assert_true (vmstate_service_export (service, connection, &error));
  g_assert_no_error (error);
  g_test_expect_message ("Vmstate", G_LOG_LEVEL_CRITICAL, "*priv->connection == NULL*");
  vmstate_service_set_id (service, "fourth");
  g_test_assert_expected_messages ();
  g_assert_cmpstr (vmstate_service_get_id (service), ==, "third");

  vmstate_service_unexport (service);
  vmstate_service_set_id (service, "fourth");
  g_assert_cmpstr (vmstate_service_get_id (service), ==, "fourth");

  g_dbus_connection_close_sync (connection, NULL, NULL);
  g_test_dbus_down (bus);
}

static int
run_with (VmstateService *service, const char * const *args)
{
  g_auto(GStrv) argv = g_strdupv ((char **) args);

  return vmstate_service_run (service, g_strv_length (argv), argv);
}

static void
test_print_capabilities (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(VmstateService) service = g_object_new (VMSTATE_TYPE_SERVICE, NULL);
      const char *args[] = { "helper", "--print-capabilities", "--dbus-address=unix:path=/nonexistent", NULL };

      vmstate_service_set_helper_type (service, "slirp-helper");
      vmstate_service_add_feature (service, "ipv4");
      vmstate_service_add_feature (service, "ipv4");
      vmstate_service_add_feature (service, "migrate");
      int status = run_with (service, args);

      g_clear_object (&service);   /* exit() skips g_autoptr: LeakSanitizer */
      exit (status);
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stdout ("{\"type\": \"slirp-helper\", \"features\": [\"dbus-address\", \"migrate\", "
                             "\"exit-with-parent\", \"notify-socket\", \"ipv4\"]}\n");
  g_test_trap_assert_stderr ("");
}

static void
test_usage_error (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(VmstateService) service = g_object_new (VMSTATE_TYPE_SERVICE, "id", "x", NULL);
      const char *args[] = { "helper", "--dbus-address", "unix:path=/nonexistent", "--bogus", NULL };

      int status = run_with (service, args);

      g_clear_object (&service);   /* exit() skips g_autoptr: LeakSanitizer */
      exit (status);
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*helper: Unknown option --bogus*");
}

typedef struct
{
  gboolean incoming_at_ready;
  gboolean ready;
} RunState;

static int
on_handle_options (VmstateService *service, GVariantDict *options, gpointer user_data)
{
  const char *name = NULL;

  g_assert_true (options == vmstate_service_get_options (service));
  g_assert_true (g_variant_dict_lookup (options, "name", "&s", &name));
  g_assert_cmpstr (name, ==, "value");
  g_assert_true (g_variant_dict_contains (options, "flag"));
  g_assert_false (g_variant_dict_contains (options, "number"));
  return -1;
}

static void
on_ready (VmstateService *service, gpointer user_data)
{
  RunState *state = user_data;

  state->ready = TRUE;
  state->incoming_at_ready = vmstate_service_get_incoming (service);
  g_assert_nonnull (vmstate_service_get_connection (service));
  g_assert_cmpstr (vmstate_service_get_id (service), ==, "from-argv");
  vmstate_service_quit (service, 7);
}

/* run() joins the bus with the Id from --dbus-id, emits ::ready, and
 * returns what quit() says; the helper's own options are parsed. */
static void
test_run_ready_quit (void)
{
  g_autoptr(GTestDBus) bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_autoptr(VmstateService) service = g_object_new (VMSTATE_TYPE_SERVICE, "id", "in-code", NULL);
  g_autofree char *address = NULL;
  RunState state = { 0 };

  g_test_dbus_up (bus);
  address = g_strdup_printf ("--dbus-address=%s", g_test_dbus_get_bus_address (bus));
  {
    const char *args[] = { "helper", address, "--dbus-id", "from-argv", "--dbus-incoming",
                           "--name=value", "--flag", NULL };

    vmstate_service_add_main_option (service, "name", 0, 0, G_OPTION_ARG_STRING, "a name", "NAME");
    vmstate_service_add_main_option (service, "flag", 'f', 0, G_OPTION_ARG_NONE, "a flag", NULL);
    vmstate_service_add_main_option (service, "number", 0, 0, G_OPTION_ARG_INT, "a number", "N");
    g_signal_connect (service, "handle-options", G_CALLBACK (on_handle_options), NULL);
    g_signal_connect (service, "ready", G_CALLBACK (on_ready), &state);
    g_assert_cmpint (run_with (service, args), ==, 7);
  }
  g_assert_true (state.ready);
  g_assert_true (state.incoming_at_ready);
  g_assert_null (vmstate_service_get_connection (service));
  g_assert_cmpuint (vmstate_service_get_incoming_timeout_msec (service), ==, 5 * 60 * 1000);

  g_test_dbus_down (bus);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/service-run/id/settable-until-export", test_id_settable_until_export);
  g_test_add_func ("/service-run/print-capabilities", test_print_capabilities);
  g_test_add_func ("/service-run/usage-error", test_usage_error);
  g_test_add_func ("/service-run/ready-quit", test_run_ready_quit);

  return g_test_run ();
}
