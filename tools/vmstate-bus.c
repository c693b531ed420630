/* vmstate-bus.c: vmstate bus, a private message bus for one VM
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#ifdef __linux__
# include <sys/prctl.h>
#endif

#include <glib-unix.h>
#include <glib/gstdio.h>

#include "vmstate-tool.h"

static char *opt_dir;
static char *opt_address_file;
static char *opt_dbus_daemon;

static const GOptionEntry bus_entries[] = {
  { "dir", 'd', 0, G_OPTION_ARG_FILENAME, &opt_dir,
    "Put the socket (DIR/bus) and the configuration (DIR/bus.conf) in DIR, created "
    "with mode 0700 if needed (default: a fresh directory in $XDG_RUNTIME_DIR, or "
    "in ~/.cache when XDG_RUNTIME_DIR is not set)", "DIR" },
  { "address-file", 'f', 0, G_OPTION_ARG_FILENAME, &opt_address_file,
    "Also write the address to FILE (atomically, once the bus listens; "
    "removed when the bus stops)", "FILE" },
  { "dbus-daemon", 0, 0, G_OPTION_ARG_FILENAME, &opt_dbus_daemon,
    "The dbus-daemon program (default: dbus-daemon from PATH)", "PATH" },
  { NULL }
};

static void
bus_add_options (GOptionContext *context)
{
  g_option_context_add_main_entries (context, bus_entries, NULL);
  g_option_context_set_description (context,
    "Starts a dbus-daemon private to one VM, the way QEMU's documentation asks\n"
    "for: a message bus listening on a unix socket, EXTERNAL authentication only,\n"
    "and only the current user allowed to connect. Its limits allow states up\n"
    "to libvmstate's ceiling of 64 MiB (max_message_size 128 MiB) and many\n"
    "helpers (1024 pending replies per connection, 2048 connections). Prints\n"
    "the bus address on standard output once the bus listens, then runs until\n"
    "SIGTERM or SIGINT, when it stops the daemon and removes the socket and\n"
    "configuration file (and the directory, if it made a fresh one). Warns when\n"
    "an existing DIR is open to its group or others. Exits 1 if the daemon\n"
    "dies on its own.");
}

static char *
make_config (const char *socket_path)
{
  g_autofree char *escaped_path = g_dbus_address_escape_value (socket_path);
  g_autofree char *address = g_strconcat ("unix:path=", escaped_path, NULL);
  g_autofree char *listen = g_markup_escape_text (address, -1);

  return g_strdup_printf (
    "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
    " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
    "<!-- written by vmstate bus: a message bus private to one VM -->\n"
    "<busconfig>\n"
    "  <listen>%s</listen>\n"
    "  <auth>EXTERNAL</auth>\n"
    "  <policy context=\"default\">\n"
    "    <!-- only this user may connect -->\n"
    "    <deny user=\"*\"/>\n"
    "    <allow user=\"%u\"/>\n"
    "    <!-- and may then do anything: there is nobody else -->\n"
    "    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
    "    <allow eavesdrop=\"true\"/>\n"
    "    <allow own=\"*\"/>\n"
    "  </policy>\n"
    "  <!-- a state may be up to 64 MiB (libvmstate's ceiling, the D-Bus\n"
    "       limit on an array), and there may be many helpers: dbus-daemon's\n"
    "       defaults (32 MiB per message, 127 MiB queued per connection, 128\n"
    "       pending replies per connection, 256 connections per user) are\n"
    "       lower. Only this user may connect, so these bound nobody else. -->\n"
    "  <limit name=\"max_message_size\">134217728</limit>\n"
    "  <limit name=\"max_incoming_bytes\">1073741824</limit>\n"
    "  <limit name=\"max_outgoing_bytes\">1073741824</limit>\n"
    "  <limit name=\"max_replies_per_connection\">1024</limit>\n"
    "  <limit name=\"max_connections_per_user\">2048</limit>\n"
    "</busconfig>\n",
    listen, (guint) getuid ());
}

/* Is something accepting connections on @path? */
static gboolean
socket_is_live (const char *path)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  gboolean live;
  int fd;

  if (strlen (path) >= sizeof addr.sun_path)
    return FALSE;
  strcpy (addr.sun_path, path);
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return FALSE;
  live = connect (fd, (struct sockaddr *) &addr, sizeof addr) == 0;
  close (fd);
  return live;
}

static void
child_setup (gpointer user_data)
{
#ifdef __linux__
  /* do not outlive vmstate bus, even if it is killed */
  prctl (PR_SET_PDEATHSIG, SIGTERM);
#endif
}

/* dbus-daemon started as root raises its fd limit to 65536 and, where
 * it may not (a container without CAP_SYS_RESOURCE), says so at every
 * start: noise for a bus of a few connections. Anything else it says is
 * passed on. */
static void
forward_daemon_line (const char *line)
{
  if (strstr (line, "Failed to set fd limit") == NULL)
    g_printerr ("%s\n", line);
}

static void
forward_daemon_stderr_sync (GDataInputStream *err)
{
  char *line;

  while ((line = g_data_input_stream_read_line (err, NULL, NULL, NULL)) != NULL)
    {
      forward_daemon_line (line);
      g_free (line);
    }
}

typedef struct
{
  GMainLoop   *loop;
  GSubprocess *daemon;
  GDataInputStream *err;
  gboolean     err_closed;
  gboolean     daemon_exited;
  gboolean     stopping;
  guint        stop_timeout;
  int          status;
} BusState;

static void
on_daemon_exited (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  BusState *state = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  state->daemon_exited = TRUE;
  if (!state->stopping)
    {
      g_printerr ("vmstate bus: dbus-daemon exited on its own (status %d)\n",
                  g_subprocess_get_if_exited (state->daemon)
                    ? g_subprocess_get_exit_status (state->daemon)
                    : 128 + g_subprocess_get_term_sig (state->daemon));
      state->status = TOOL_EXIT_FAILURE;
    }
  g_main_loop_quit (state->loop);
}

static void
on_daemon_stderr (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  BusState *state = user_data;
  g_autofree char *line = NULL;

  line = g_data_input_stream_read_line_finish (state->err, result, NULL, NULL);
  if (line == NULL)
    {
      state->err_closed = TRUE;
      g_main_loop_quit (state->loop);
      return;
    }
  forward_daemon_line (line);
  g_data_input_stream_read_line_async (state->err, G_PRIORITY_DEFAULT, NULL,
                                       on_daemon_stderr, state);
}

static gboolean
on_signal (gpointer user_data)
{
  BusState *state = user_data;

  if (!state->stopping)
    {
      state->stopping = TRUE;
      g_subprocess_send_signal (state->daemon, SIGTERM);
      g_main_loop_quit (state->loop);
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
on_stop_timeout (gpointer user_data)
{
  BusState *state = user_data;

  g_printerr ("vmstate bus: dbus-daemon ignored SIGTERM; killing it\n");
  g_subprocess_force_exit (state->daemon);
  state->stop_timeout = 0;
  return G_SOURCE_REMOVE;
}

static int
bus_run (GOptionContext *context,
         int             argc,
         char          **argv)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) daemon = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autoptr(GDataInputStream) err = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *socket_path = NULL;
  g_autofree char *config_path = NULL;
  g_autofree char *config = NULL;
  g_autofree char *daemon_path = NULL;
  g_autofree char *config_arg = NULL;
  g_autofree char *address = NULL;
  gboolean made_dir = FALSE;
  gboolean wrote_address_file = FALSE;
  BusState state = { 0 };
  guint sigterm, sigint;
  GStatBuf st;

  if (argc > 1)
    return tool_usage_error ("bus", "unexpected argument '%s'", argv[1]);

  if (opt_dbus_daemon != NULL)
    daemon_path = g_strdup (opt_dbus_daemon);
  else if ((daemon_path = g_find_program_in_path ("dbus-daemon")) == NULL)
    return tool_failure ("bus", "dbus-daemon is not in PATH (install the dbus-daemon package, "
                         "or use --dbus-daemon)");

  if (opt_dir != NULL)
    {
      dir = g_canonicalize_filename (opt_dir, NULL);
      /* another user who may write there could replace the socket */
      if (g_stat (dir, &st) == 0 && S_ISDIR (st.st_mode) && (st.st_mode & 077) != 0)
        g_printerr ("vmstate bus: warning: %s is open to its group or others (mode %04o); "
                    "prefer mode 0700, so that nobody else can see or replace the bus socket\n",
                    dir, (guint) (st.st_mode & 07777));
      if (g_mkdir_with_parents (dir, 0700) != 0)
        return tool_failure ("bus", "cannot create %s: %s", dir, g_strerror (errno));
    }
  else
    {
      const char *runtime_dir = g_get_user_runtime_dir ();

      if (g_mkdir_with_parents (runtime_dir, 0700) != 0)
        return tool_failure ("bus", "cannot create %s: %s", runtime_dir, g_strerror (errno));
      dir = g_build_filename (runtime_dir, "vmstate-bus-XXXXXX", NULL);
      if (g_mkdtemp_full (dir, 0700) == NULL)
        return tool_failure ("bus", "cannot create a directory in %s: %s", runtime_dir,
                             g_strerror (errno));
      made_dir = TRUE;
    }

  socket_path = g_build_filename (dir, "bus", NULL);
  config_path = g_build_filename (dir, "bus.conf", NULL);
  if (g_lstat (socket_path, &st) == 0)
    {
      if (!S_ISSOCK (st.st_mode))
        return tool_failure ("bus", "%s exists and is not a socket", socket_path);
      if (socket_is_live (socket_path))
        return tool_failure ("bus", "a bus is already listening on %s", socket_path);
      /* a stale socket: dbus-daemon replaces it */
    }

  config = make_config (socket_path);
  if (!g_file_set_contents_full (config_path, config, -1, G_FILE_SET_CONTENTS_CONSISTENT,
                                 0600, &error))
    return tool_failure ("bus", "%s", error->message);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                       G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
  config_arg = g_strconcat ("--config-file=", config_path, NULL);
  daemon = g_subprocess_launcher_spawn (launcher, &error, daemon_path, config_arg,
                                        "--nofork", "--nopidfile", "--nosyslog",
                                        "--print-address=1", NULL);
  if (daemon == NULL)
    {
      g_unlink (config_path);
      if (made_dir)
        g_rmdir (dir);
      return tool_failure ("bus", "cannot start %s: %s", daemon_path, error->message);
    }

  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (daemon));
  err = g_data_input_stream_new (g_subprocess_get_stderr_pipe (daemon));
  address = g_data_input_stream_read_line (out, NULL, NULL, &error);
  if (address == NULL || address[0] == '\0')
    {
      g_subprocess_wait (daemon, NULL, NULL);
      forward_daemon_stderr_sync (err);
      g_unlink (config_path);
      if (made_dir)
        g_rmdir (dir);
      return tool_failure ("bus", "dbus-daemon did not start%s%s", error ? ": " : " (see its messages above)",
                           error ? error->message : "");
    }

  /* The bus listens: from here on, a signal stops it cleanly. */
  loop = g_main_loop_new (NULL, FALSE);
  state.loop = loop;
  state.daemon = daemon;
  state.err = err;
  state.status = TOOL_EXIT_OK;
  sigterm = g_unix_signal_add (SIGTERM, on_signal, &state);
  sigint = g_unix_signal_add (SIGINT, on_signal, &state);
  g_subprocess_wait_async (daemon, NULL, on_daemon_exited, &state);
  g_data_input_stream_read_line_async (err, G_PRIORITY_DEFAULT, NULL, on_daemon_stderr, &state);

  if (opt_address_file != NULL)
    {
      g_autofree char *contents = g_strconcat (address, "\n", NULL);

      wrote_address_file = g_file_set_contents_full (opt_address_file, contents, -1,
                                                     G_FILE_SET_CONTENTS_CONSISTENT,
                                                     0600, &error);
      if (!wrote_address_file)
        {
          g_printerr ("vmstate bus: %s\n", error->message);
          state.status = TOOL_EXIT_FAILURE;
          on_signal (&state);
        }
    }
  if (state.status == TOOL_EXIT_OK)
    {
      setvbuf (stdout, NULL, _IOLBF, 0);
      g_print ("%s\n", address);
    }

  /* until the daemon has exited and said all it had to say */
  while (!state.daemon_exited || !state.err_closed)
    {
      g_main_loop_run (loop);
      if (state.stopping && state.stop_timeout == 0 && !state.daemon_exited)
        state.stop_timeout = g_timeout_add_seconds (5, on_stop_timeout, &state);
    }

  if (state.stop_timeout != 0)
    g_source_remove (state.stop_timeout);
  g_source_remove (sigterm);
  g_source_remove (sigint);

  g_unlink (config_path);
  if (wrote_address_file)
    g_unlink (opt_address_file);
  if (g_lstat (socket_path, &st) == 0 && S_ISSOCK (st.st_mode))
    g_unlink (socket_path);
  if (made_dir && g_rmdir (dir) != 0)
    g_printerr ("vmstate bus: cannot remove %s: %s\n", dir, g_strerror (errno));
  return state.status;
}

const ToolCommand tool_command_bus = {
  "bus", NULL, "Run a private message bus for one VM",
  bus_add_options, bus_run,
};
