/* faults-bus.c: a private dbus-daemon with a chosen configuration, and
 * fault helper processes on it
 *
 * Every process started here is stopped by its pid when it is freed.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faults-bus.h"
#include "../vmstate-test-pattern.h"

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

  bus->process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error,
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
  g_autoptr(GDir) dir = NULL;
  const char *name;

  if (bus->pid != 0)
    {
      kill (bus->pid, SIGTERM);
      g_subprocess_wait (bus->process, NULL, NULL);
    }
  dir = g_dir_open (bus->dir, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (bus->dir, name, NULL);
      g_unlink (path);
    }
  g_rmdir (bus->dir);
  g_free (bus->dir);
  g_free (bus->address);
  g_object_unref (bus->process);
  g_free (bus);
}

/*
 * faults_helper_spawn:
 *
 * Starts the helper program (tests/helper/vmstate-test-helper, from
 * VMSTATE_TEST_HELPER) on @bus with the given arguments and waits for its
 * READY line. It prints no LOADED lines, its states are 64 bytes unless
 * the arguments say otherwise, and its max-state-size fits them.
 */
FaultsHelper *
faults_helper_spawn (FaultsBus  *bus,
                     const char *first_arg,
                     ...)
{
  const char *program = g_getenv ("VMSTATE_TEST_HELPER");
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  g_auto(GStrv) words = NULL;
  FaultsHelper *helper;
  va_list ap;

  g_assert_nonnull (program);
  g_ptr_array_add (argv, (gpointer) program);
  g_ptr_array_add (argv, "--address");
  g_ptr_array_add (argv, bus->address);
  g_ptr_array_add (argv, "--quiet");
  g_ptr_array_add (argv, "--fit-max-state-size");
  g_ptr_array_add (argv, "--state-size=64");
  va_start (ap, first_arg);
  for (const char *arg = first_arg; arg != NULL; arg = va_arg (ap, const char *))
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (ap);
  g_ptr_array_add (argv, NULL);

  helper = g_new0 (FaultsHelper, 1);
  helper->process = g_subprocess_newv ((const char * const *) argv->pdata,
                                       G_SUBPROCESS_FLAGS_STDIN_PIPE |
                                       G_SUBPROCESS_FLAGS_STDOUT_PIPE,
                                       &error);
  g_assert_no_error (error);
  helper->pid = atoi (g_subprocess_get_identifier (helper->process));
  helper->out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (helper->process));

  line = faults_helper_read_line (helper, NULL);
  g_assert_nonnull (line);
  words = g_strsplit (line, " ", 3);
  g_assert_cmpstr (words[0], ==, "READY");
  helper->unique_name = g_strdup (words[1]);
  return helper;
}

static void
on_line (GObject *source, GAsyncResult *result, gpointer user_data)
{
  char **line = user_data;
  g_autoptr(GError) error = NULL;

  *line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result,
                                                     NULL, &error);
  g_assert_no_error (error);
  if (*line == NULL)
    *line = g_strdup ("");  /* end of file */
}

/*
 * faults_helper_read_line:
 * @context: (nullable): a main context to iterate while waiting (the one
 *   the collector's operation in flight runs on), or %NULL to block
 *
 * The next line the helper printed; "" at end of file.
 */
char *
faults_helper_read_line (FaultsHelper *helper,
                         GMainContext *context)
{
  g_autoptr(GError) error = NULL;
  char *line = NULL;

  if (context == NULL)
    {
      line = g_data_input_stream_read_line_utf8 (helper->out, NULL, NULL, &error);
      g_assert_no_error (error);
      return line ? line : g_strdup ("");
    }

  g_data_input_stream_read_line_async (helper->out, G_PRIORITY_DEFAULT, NULL, on_line, &line);
  while (line == NULL)
    g_main_context_iteration (context, TRUE);
  return line;
}

/* SIGKILLs the helper and reaps it. */
void
faults_helper_kill (FaultsHelper *helper)
{
  if (helper->pid == 0)
    return;
  kill (helper->pid, SIGKILL);
  g_subprocess_wait (helper->process, NULL, NULL);
  helper->pid = 0;
}

void
faults_helper_free (FaultsHelper *helper)
{
  if (helper->pid != 0)
    {
      /* Closing its stdin makes it leave (its main loop runs even when it
       * hangs a call); the test's timeout bounds the wait. */
      g_output_stream_close (g_subprocess_get_stdin_pipe (helper->process), NULL, NULL);
      g_subprocess_wait (helper->process, NULL, NULL);
    }
  g_object_unref (helper->out);
  g_object_unref (helper->process);
  g_free (helper->unique_name);
  g_free (helper);
}

/* The helpers' state (vmstate-test-pattern.h). */
GBytes *
faults_make_state (gsize size,
                   int   seed)
{
  return vmstate_test_pattern_new (size, seed);
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
