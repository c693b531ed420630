/* faults-bus.c: a private dbus-daemon with a chosen configuration, and
 * helper processes and collectors on it
 *
 * Every process started here is stopped by its pid when it is freed.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <glib/gstdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "faults-bus.h"

static const char bus_config[] =
  "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
  " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
  "<busconfig>\n"
  "  <type>session</type>\n"
  "  <listen>unix:dir=%s</listen>\n"
  "  <auth>EXTERNAL</auth>\n"
  "  <policy context=\"default\">\n"
  "    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
  "    <allow eavesdrop=\"true\"/>\n"
  "    <allow own=\"*\"/>\n"
  "    %s\n"
  "  </policy>\n"
  "  %s\n"
  "</busconfig>\n";

/* In the daemon, between fork and exec: it gets SIGKILL when the test
 * dies, say on a failed assertion. Otherwise it would live on, holding
 * the test's stderr, and meson would report a TIMEOUT instead of the
 * failure. (Helpers need no such thing: they exit when their stdin
 * closes.) */
static void
die_with_the_test (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (getppid () != GPOINTER_TO_INT (user_data))
    _exit (1);
}

/*
 * faults_bus_new:
 * @policy: (nullable): more rules for the default policy, such as
 *   `<allow user="*"/>`
 * @limits: (nullable): `<limit>` elements
 *
 * Starts dbus-daemon on a socket in a fresh directory (mode 0755, so that
 * another uid can reach it) and waits until it prints its address.
 */
FaultsBus *
faults_bus_new (const char *policy,
                const char *limits)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *config = NULL;
  g_autofree char *config_path = NULL;
  g_autofree char *config_arg = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  const char *daemon = g_getenv ("DBUS_DAEMON");
  FaultsBus *bus = g_new0 (FaultsBus, 1);
  const char *pid_string;

  bus->dir = g_dir_make_tmp ("vmstate-faults-XXXXXX", &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (bus->dir, 0755), ==, 0);
  config = g_strdup_printf (bus_config, bus->dir, policy ? policy : "", limits ? limits : "");
  config_path = g_build_filename (bus->dir, "bus.conf", NULL);
  g_file_set_contents (config_path, config, -1, &error);
  g_assert_no_error (error);
  config_arg = g_strconcat ("--config-file=", config_path, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_the_test, GINT_TO_POINTER (getpid ()), NULL);
  bus->process = g_subprocess_launcher_spawn (launcher, &error,
                                              daemon ? daemon : "dbus-daemon", config_arg,
                                              "--print-address=1", "--nofork", NULL);
  g_assert_no_error (error);
  pid_string = g_subprocess_get_identifier (bus->process);
  bus->pid = atoi (pid_string);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (bus->process));
  /* dbus-daemon prints its address once it listens, or exits. */
  bus->address = g_data_input_stream_read_line_utf8 (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (bus->address);
  g_assert_true (g_str_has_prefix (bus->address, "unix:"));
  return bus;
}

/* Kills the daemon at once (SIGKILL) and reaps it. */
void
faults_bus_kill (FaultsBus *bus)
{
  if (bus->pid == 0)
    return;
  kill (bus->pid, SIGKILL);
  g_subprocess_wait (bus->process, NULL, NULL);
  bus->pid = 0;
}

void
faults_bus_free (FaultsBus *bus)
{
  if (bus->pid != 0)
    {
      kill (bus->pid, SIGTERM);
      g_subprocess_wait (bus->process, NULL, NULL);
    }
  test_remove_dir (bus->dir);
  g_free (bus->dir);
  g_free (bus->address);
  g_object_unref (bus->process);
  g_free (bus);
}

/* A collector on @bus. */
VmstateCollector *
faults_collector_new (FaultsBus *bus)
{
  g_autoptr(GError) error = NULL;
  VmstateCollector *collector;

  collector = vmstate_collector_new_for_address_sync (bus->address, NULL, &error);
  g_assert_no_error (error);
  return collector;
}

/* The resident set size of this process, in KiB (VmRSS). */
gsize
faults_rss_kib (void)
{
  g_autofree char *status = NULL;
  const char *line;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return 0;
  line = strstr (status, "\nVmRSS:");
  if (line == NULL)
    return 0;
  return g_ascii_strtoull (line + strlen ("\nVmRSS:"), NULL, 10);
}
