/* vmstate-run-process.c: the helper runtime's dealings with whoever
 * started the process: SIGTERM and SIGINT, --exit-with-parent, and
 * READY=1 on NOTIFY_SOCKET
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib-unix.h>

#include "vmstate-run-private.h"

/* Signals */

typedef struct
{
  VmstateService *self;
  int             signum;
} SignalData;

static gboolean
on_signal (gpointer data)
{
  SignalData *signal_data = data;
  VmstateService *self = signal_data->self;

  /* The parent's death comes as a SIGTERM too (PR_SET_PDEATHSIG). */
  if (!_vmstate_run_parent_exited (self))
    _vmstate_run_log (self, G_LOG_LEVEL_INFO, "%s received; leaving the bus",
                      signal_data->signum == SIGINT ? "SIGINT" : "SIGTERM");
  vmstate_service_quit (self, 0);
  return G_SOURCE_CONTINUE;
}

static GSource *
watch_signal (VmstateService *self,
              GMainContext   *context,
              int             signum)
{
  GSource *source = g_unix_signal_source_new (signum);
  SignalData *data = g_new0 (SignalData, 1);

  data->self = self;
  data->signum = signum;
  g_source_set_callback (source, on_signal, data, g_free);
  g_source_attach (source, context);
  return source;
}

static void
source_destroy_unref (GSource *source)
{
  g_source_destroy (source);
  g_source_unref (source);
}

void
_vmstate_run_watch_signals (VmstateService *self,
                            GMainContext   *context)
{
  RunData *run = _vmstate_run_data_get (self);

  run->sigterm = watch_signal (self, context, SIGTERM);
  run->sigint = watch_signal (self, context, SIGINT);
}

void
_vmstate_run_unwatch_signals (VmstateService *self)
{
  RunData *run = _vmstate_run_data_get (self);

  g_clear_pointer (&run->sigterm, source_destroy_unref);
  g_clear_pointer (&run->sigint, source_destroy_unref);
}

/* --exit-with-parent */

/* libvirt 9.0 daemonizes its slirp helper and still passes
 * --exit-with-parent: the parent is then libvirt's middle fork, which
 * called setsid() and exits at once, so exiting with it takes the helper
 * off the bus at random (a restore fails "Required VMState Id are
 * missing", about 1 in 30 with vmstate-slirp-helper and 1 in 3 with
 * Debian's libslirp-helper). A parent that leads our session and left
 * us no terminal is such a fork. */
static gboolean
started_by_daemonizing_fork (void)
{
  int tty;

  if (getsid (0) != getppid ())
    return FALSE;
  tty = open ("/dev/tty", O_RDONLY | O_NOCTTY | O_CLOEXEC);
  if (tty >= 0)
    {
      close (tty);
      return FALSE;
    }
  return TRUE;
}

void
_vmstate_run_watch_parent (VmstateService *self)
{
  RunData *run = _vmstate_run_data_get (self);

  if (started_by_daemonizing_fork ())
    {
      _vmstate_run_log (self, G_LOG_LEVEL_INFO,
                        "started by a daemonizing parent (pid %d), which exits at once: "
                        "ignoring --exit-with-parent", (int) getppid ());
      return;
    }

  /* The parent's death sends SIGTERM. It must still be the parent we
   * were started by once the request is in place: see
   * _vmstate_run_parent_exited(). */
  run->parent_pid = getppid ();
  if (prctl (PR_SET_PDEATHSIG, SIGTERM) != 0)
    _vmstate_run_log (self, G_LOG_LEVEL_WARNING, "cannot watch the parent process: %s",
                      g_strerror (errno));
}

void
_vmstate_run_unwatch_parent (VmstateService *self)
{
  RunData *run = _vmstate_run_data_get (self);

  if (run->parent_pid != 0)
    (void) prctl (PR_SET_PDEATHSIG, 0);
  run->parent_pid = 0;
}

gboolean
_vmstate_run_parent_exited (VmstateService *self)
{
  RunData *run = _vmstate_run_data_get (self);

  if (run->parent_pid == 0 || getppid () == run->parent_pid)
    return FALSE;
  _vmstate_run_log (self, G_LOG_LEVEL_INFO,
                    "its parent process (pid %d) exited (--exit-with-parent); leaving the bus",
                    (int) run->parent_pid);
  return TRUE;
}

/* NOTIFY_SOCKET */

/* sd_notify(0, "READY=1") without libsystemd: one datagram to the unix
 * socket NOTIFY_SOCKET names (a path, or '@' for an abstract name). */
void
_vmstate_run_notify_ready (VmstateService *self)
{
  const char *path = g_getenv ("NOTIFY_SOCKET");
  struct sockaddr_un address = { .sun_family = AF_UNIX };
  static const char message[] = "READY=1";
  socklen_t address_len;
  size_t len;
  int fd;

  if (path == NULL || *path == '\0')
    return;

  len = strlen (path);
  if ((path[0] != '/' && path[0] != '@') || len >= sizeof address.sun_path)
    {
      _vmstate_run_log (self, G_LOG_LEVEL_WARNING,
                        "NOTIFY_SOCKET=%s is not a unix socket path or abstract name; "
                        "not notifying", path);
      return;
    }
  memcpy (address.sun_path, path, len);
  if (path[0] == '@')
    address.sun_path[0] = '\0';
  address_len = offsetof (struct sockaddr_un, sun_path) + len + (path[0] == '/' ? 1 : 0);

  fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0 ||
      sendto (fd, message, sizeof message - 1, MSG_NOSIGNAL,
              (struct sockaddr *) &address, address_len) < 0)
    {
      int saved_errno = errno;

      _vmstate_run_log (self, G_LOG_LEVEL_WARNING, "cannot send READY=1 to NOTIFY_SOCKET=%s: %s",
                        path, g_strerror (saved_errno));
    }
  else
    _vmstate_run_log (self, G_LOG_LEVEL_DEBUG, "sent READY=1 to NOTIFY_SOCKET=%s", path);
  if (fd >= 0)
    close (fd);
}
