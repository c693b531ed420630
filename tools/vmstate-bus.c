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

/* What is wrong with the place of the socket, or NULL: nothing there,
 * or a stale socket (dbus-daemon replaces it). */
static const char *
socket_place_problem (const char *path)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  gboolean live;
  GStatBuf st;
  int fd;

  if (g_lstat (path, &st) != 0)
    return NULL;
  if (!S_ISSOCK (st.st_mode))
    return "exists and is not a socket";
  if (strlen (path) >= sizeof addr.sun_path)
    return NULL;
  strcpy (addr.sun_path, path);
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return NULL;
  live = connect (fd, (struct sockaddr *) &addr, sizeof addr) == 0;
  close (fd);
  return live ? "is in use: a bus is already listening on it" : NULL;
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

/* The files vmstate bus makes, removed on every way out. */
typedef struct
{
  char     *dir;
  gboolean  made_dir;       /* a fresh directory of ours: removed too */
  char     *socket_path;
  char     *config_path;
  char     *address_file;   /* once written */
} BusFiles;

static void
bus_files_remove (BusFiles *files)
{
  GStatBuf st;

  if (files->config_path != NULL)
    g_unlink (files->config_path);
  if (files->address_file != NULL)
    g_unlink (files->address_file);
  if (files->socket_path != NULL && g_lstat (files->socket_path, &st) == 0 && S_ISSOCK (st.st_mode))
    g_unlink (files->socket_path);
  if (files->made_dir && g_rmdir (files->dir) != 0)
    g_printerr ("vmstate bus: cannot remove %s: %s\n", files->dir, g_strerror (errno));
  files->made_dir = FALSE;
  g_clear_pointer (&files->dir, g_free);
  g_clear_pointer (&files->socket_path, g_free);
  g_clear_pointer (&files->config_path, g_free);
  g_clear_pointer (&files->address_file, g_free);
}

/* Makes the directory, checks the socket's place and writes the config;
 * on failure, prints why and returns FALSE. Either way, what it made is
 * in @files, for bus_files_remove(). */
static gboolean
bus_files_make (BusFiles *files)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *config = NULL;
  const char *problem;
  GStatBuf st;

  if (opt_dir != NULL)
    {
      files->dir = g_canonicalize_filename (opt_dir, NULL);
      /* another user who may write there could replace the socket */
      if (g_stat (files->dir, &st) == 0 && S_ISDIR (st.st_mode) && (st.st_mode & 077) != 0)
        g_printerr ("vmstate bus: warning: %s is open to its group or others (mode %04o); "
                    "prefer mode 0700, so that nobody else can see or replace the bus socket\n",
                    files->dir, (guint) (st.st_mode & 07777));
      if (g_mkdir_with_parents (files->dir, 0700) != 0)
        {
          tool_failure ("bus", "cannot create %s: %s", files->dir, g_strerror (errno));
          return FALSE;
        }
    }
  else
    {
      const char *runtime_dir = g_get_user_runtime_dir ();

      if (g_mkdir_with_parents (runtime_dir, 0700) != 0)
        {
          tool_failure ("bus", "cannot create %s: %s", runtime_dir, g_strerror (errno));
          return FALSE;
        }
      files->dir = g_build_filename (runtime_dir, "vmstate-bus-XXXXXX", NULL);
      if (g_mkdtemp_full (files->dir, 0700) == NULL)
        {
          tool_failure ("bus", "cannot create a directory in %s: %s", runtime_dir,
                        g_strerror (errno));
          return FALSE;
        }
      files->made_dir = TRUE;
    }

  files->socket_path = g_build_filename (files->dir, "bus", NULL);
  if ((problem = socket_place_problem (files->socket_path)) != NULL)
    {
      tool_failure ("bus", "%s %s", files->socket_path, problem);
      g_clear_pointer (&files->socket_path, g_free);   /* not ours: left alone */
      return FALSE;
    }

  config = make_config (files->socket_path);
  files->config_path = g_build_filename (files->dir, "bus.conf", NULL);
  if (!g_file_set_contents_full (files->config_path, config, -1, G_FILE_SET_CONTENTS_CONSISTENT,
                                 0600, &error))
    {
      tool_failure ("bus", "%s", error->message);
      return FALSE;
    }
  return TRUE;
}

/* A run of the bus, from the spawn to the daemon's end. Signals are
 * handled from before the daemon starts, so that none stops vmstate bus
 * without its clean-up: one that comes while the daemon is starting
 * stops it too. */
typedef struct
{
  GMainLoop        *loop;
  GSubprocess      *daemon;
  GDataInputStream *out;
  GDataInputStream *err;
  BusFiles         *files;
  gboolean          out_done;      /* the address line was read, or not coming */
  gboolean          err_closed;
  gboolean          daemon_exited;
  gboolean          running;       /* the address was printed */
  gboolean          stopping;
  guint             stop_timeout;
  int               status;
  char             *failure;       /* said after the daemon's own messages */
} BusState;

static void
bus_maybe_quit (BusState *state)
{
  if (state->out_done && state->err_closed && state->daemon_exited)
    g_main_loop_quit (state->loop);
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

static void
bus_stop (BusState *state)
{
  if (state->stopping)
    return;
  state->stopping = TRUE;
  if (!state->daemon_exited)
    {
      g_subprocess_send_signal (state->daemon, SIGTERM);
      state->stop_timeout = g_timeout_add_seconds (5, on_stop_timeout, state);
    }
}

static gboolean
on_signal (gpointer user_data)
{
  bus_stop (user_data);
  return G_SOURCE_CONTINUE;
}

static void
on_daemon_exited (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  BusState *state = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  state->daemon_exited = TRUE;
  g_clear_handle_id (&state->stop_timeout, g_source_remove);
  /* before the address, on_address() says the daemon did not start */
  if (!state->stopping && state->running)
    {
      g_printerr ("vmstate bus: dbus-daemon exited on its own (status %d)\n",
                  g_subprocess_get_if_exited (state->daemon)
                    ? g_subprocess_get_exit_status (state->daemon)
                    : 128 + g_subprocess_get_term_sig (state->daemon));
      state->status = TOOL_EXIT_FAILURE;
    }
  bus_maybe_quit (state);
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
      bus_maybe_quit (state);
      return;
    }
  forward_daemon_line (line);
  g_data_input_stream_read_line_async (state->err, G_PRIORITY_DEFAULT, NULL,
                                       on_daemon_stderr, state);
}

/* The bus listens at @address: write the address file, print it. */
static void
bus_publish (BusState   *state,
             const char *address)
{
  g_autoptr(GError) error = NULL;

  if (opt_address_file != NULL)
    {
      g_autofree char *contents = g_strconcat (address, "\n", NULL);

      if (!g_file_set_contents_full (opt_address_file, contents, -1,
                                     G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error))
        {
          g_printerr ("vmstate bus: %s\n", error->message);
          state->status = TOOL_EXIT_FAILURE;
          bus_stop (state);
          return;
        }
      state->files->address_file = g_strdup (opt_address_file);
    }
  state->running = TRUE;
  setvbuf (stdout, NULL, _IOLBF, 0);
  g_print ("%s\n", address);
}

static void
on_address (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  BusState *state = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *address = NULL;

  address = g_data_input_stream_read_line_finish (state->out, result, NULL, &error);
  state->out_done = TRUE;
  if (address != NULL && address[0] != '\0')
    {
      if (!state->stopping)
        bus_publish (state, address);
    }
  else if (!state->stopping)
    {
      state->failure = g_strdup_printf ("dbus-daemon did not start%s%s",
                                        error ? ": " : " (see its messages above)",
                                        error ? error->message : "");
      state->status = TOOL_EXIT_FAILURE;
      bus_stop (state);
    }
  bus_maybe_quit (state);
}

static int
bus_run (const char *argument)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) daemon = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autoptr(GDataInputStream) err = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *daemon_path = NULL;
  g_autofree char *config_arg = NULL;
  BusFiles files = { 0 };
  BusState state = { 0 };
  const int signals[] = { SIGTERM, SIGINT, SIGHUP };
  guint signal_sources[G_N_ELEMENTS (signals)];

  if (opt_dbus_daemon != NULL)
    daemon_path = g_strdup (opt_dbus_daemon);
  else if ((daemon_path = g_find_program_in_path ("dbus-daemon")) == NULL)
    return tool_failure ("bus", "dbus-daemon is not in PATH (install the dbus-daemon package, "
                         "or use --dbus-daemon)");

  /* From here on a signal is only noted, and handled in the main loop
   * below: none stops vmstate bus before its files are removed. */
  loop = g_main_loop_new (NULL, FALSE);
  state.loop = loop;
  state.files = &files;
  state.status = TOOL_EXIT_OK;
  for (guint i = 0; i < G_N_ELEMENTS (signals); i++)
    signal_sources[i] = g_unix_signal_add (signals[i], on_signal, &state);

  if (!bus_files_make (&files))
    state.status = TOOL_EXIT_FAILURE;
  else
    {
      launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                           G_SUBPROCESS_FLAGS_STDERR_PIPE);
      g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
      config_arg = g_strconcat ("--config-file=", files.config_path, NULL);
      daemon = g_subprocess_launcher_spawn (launcher, &error, daemon_path, config_arg,
                                            "--nofork", "--nopidfile", "--nosyslog",
                                            "--print-address=1", NULL);
      if (daemon == NULL)
        state.status = tool_failure ("bus", "cannot start %s: %s", daemon_path, error->message);
    }

  if (daemon != NULL)
    {
      /* a reader of the address that went away is no reason to die (and
       * not the daemon's business: it is set after the spawn) */
      signal (SIGPIPE, SIG_IGN);
      state.daemon = daemon;
      state.out = out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (daemon));
      state.err = err = g_data_input_stream_new (g_subprocess_get_stderr_pipe (daemon));
      g_data_input_stream_read_line_async (out, G_PRIORITY_DEFAULT, NULL, on_address, &state);
      g_data_input_stream_read_line_async (err, G_PRIORITY_DEFAULT, NULL, on_daemon_stderr, &state);
      g_subprocess_wait_async (daemon, NULL, on_daemon_exited, &state);
      /* until the daemon has exited and said all it had to say */
      g_main_loop_run (loop);
      if (state.failure != NULL)
        tool_failure ("bus", "%s", state.failure);
      g_free (state.failure);
    }

  /* the files first: the signals are handled until they are gone */
  bus_files_remove (&files);
  for (guint i = 0; i < G_N_ELEMENTS (signals); i++)
    g_source_remove (signal_sources[i]);
  return state.status;
}

const ToolCommand tool_command_bus = {
  "bus", NULL, "Run a private message bus for one VM",
  "Starts a dbus-daemon private to one VM, the way QEMU's documentation asks\n"
  "for: a message bus listening on a unix socket, EXTERNAL authentication only,\n"
  "and only the current user allowed to connect. Its limits allow states up\n"
  "to libvmstate's ceiling of 64 MiB (max_message_size 128 MiB) and many\n"
  "helpers (1024 pending replies per connection, 2048 connections). Prints\n"
  "the bus address on standard output once the bus listens, then runs until\n"
  "SIGTERM, SIGINT or SIGHUP (exit 0, also before the bus listens), when it\n"
  "stops the daemon and removes the socket, the configuration file, the\n"
  "address file and the directory if it made a fresh one. Warns when an\n"
  "existing DIR is open to its group or others. Exits 1 if the daemon dies\n"
  "on its own.",
  { bus_entries },
  bus_run,
};
