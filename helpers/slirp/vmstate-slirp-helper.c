/* vmstate-slirp-helper.c: a user-mode network for one VM, migrated with it
 *
 * A slirp helper as libvirt runs one for <interface type='user'>: libslirp
 * (a TCP/IP stack in user space: DHCP, DNS relay, NAT to the host's
 * sockets) serves the guest's Ethernet frames on a datagram socket, and
 * libvmstate puts its state on the VM's bus, so that it moves with the VM.
 *
 *   vmstate-slirp-helper --fd=N [--net=A.B.C.D/P] [--net6=X::Y/P] [--restrict]
 *                        --dbus-address=ADDR [--dbus-id=ID] [--dbus-incoming]
 *                        [--exit-with-parent]
 *   vmstate-slirp-helper --print-capabilities
 *
 * fd N is one end of an AF_UNIX SOCK_DGRAM socket pair, one Ethernet frame
 * per datagram; QEMU has the other end (-netdev socket,fd=M). The D-Bus
 * options are vmstate_service_run()'s (see doc/running.md).
 *
 * The state is the one Debian's libslirp-helper (4.3) migrates: a
 * big-endian 32-bit libslirp state version, then slirp_state_save()'s
 * stream. So a VM can move from libslirp-helper to this helper and back.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "vmstate-slirp-helper"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib-unix.h>
#include <libvmstate/libvmstate.h>
#include <slirp/libslirp.h>

#define SLIRP_TYPE_HELPER (slirp_helper_get_type ())
G_DECLARE_FINAL_TYPE (SlirpHelper, slirp_helper, SLIRP, HELPER, VmstateService)

typedef struct _SlirpPollSource SlirpPollSource;

struct _SlirpHelper
{
  VmstateService parent_instance;

  /* the command line */
  int       fd;
  char     *net;
  char     *net6;
  gboolean  restrict_guest;

  SlirpConfig      config;
  Slirp           *slirp;
  SlirpPollSource *poll_source;   /* libslirp's sockets, in the main loop */
  guint            frame_watch;   /* the guest's frames on fd */
};

G_DEFINE_TYPE (SlirpHelper, slirp_helper, VMSTATE_TYPE_SERVICE)

/* --- libslirp's callbacks --------------------------------------------- */

/* A frame from libslirp to the guest. A full socket drops it, as a wire
 * would: TCP retransmits. */
static ssize_t
send_packet (const void *frame, size_t len, void *opaque)
{
  SlirpHelper *self = opaque;
  ssize_t sent = send (self->fd, frame, len, MSG_DONTWAIT);

  if (sent < 0 && errno != EAGAIN && errno != ENOBUFS && errno != ECONNREFUSED)
    g_warning ("cannot send a frame to the guest: %s", g_strerror (errno));
  return len;
}

static void
guest_error (const char *msg, void *opaque)
{
  g_warning ("guest error: %s", msg);
}

static int64_t
clock_get_ns (void *opaque)
{
  return g_get_monotonic_time () * 1000;
}

/* libslirp's timers are GSources that become ready at their expiry time,
 * in the clock of clock_get_ns() (g_get_monotonic_time()). */
typedef struct
{
  GSource      source;
  SlirpTimerCb cb;
  void        *cb_opaque;
} SlirpTimer;

static gboolean
timer_dispatch (GSource *source, GSourceFunc unused, gpointer unused_data)
{
  SlirpTimer *timer = (SlirpTimer *) source;

  g_source_set_ready_time (source, -1);
  timer->cb (timer->cb_opaque);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs timer_funcs = { .dispatch = timer_dispatch };

static void *
timer_new (SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
  SlirpTimer *timer = (SlirpTimer *) g_source_new (&timer_funcs, sizeof (SlirpTimer));

  timer->cb = cb;
  timer->cb_opaque = cb_opaque;
  g_source_set_name ((GSource *) timer, "slirp timer");
  g_source_attach ((GSource *) timer, NULL);
  return timer;
}

static void
timer_free (void *timer, void *opaque)
{
  g_source_destroy (timer);
  g_source_unref (timer);
}

static void
timer_mod (void *timer, int64_t expire_time_ms, void *opaque)
{
  g_source_set_ready_time (timer, expire_time_ms * 1000);
}

/* libslirp polls its sockets itself, through slirp_pollfds_fill() and
 * slirp_pollfds_poll(): these are for Windows. */
static void
register_poll_fd (int fd, void *opaque)
{
}

static void
unregister_poll_fd (int fd, void *opaque)
{
}

static void
notify (void *opaque)
{
}

static const SlirpCb slirp_callbacks = {
  .send_packet = send_packet,
  .guest_error = guest_error,
  .clock_get_ns = clock_get_ns,
  .timer_new = timer_new,
  .timer_free = timer_free,
  .timer_mod = timer_mod,
  .register_poll_fd = register_poll_fd,
  .unregister_poll_fd = unregister_poll_fd,
  .notify = notify,
};

/* --- libslirp's sockets in the GLib main loop -------------------------- */

/* Before each poll, slirp_pollfds_fill() says which of its sockets (the
 * guest's connections to the outside) to watch and for how long; after,
 * slirp_pollfds_poll() handles them, and runs its TCP timers.
 *
 * prepare() touches the source's polls only when that set changed, and
 * passes the timeout back instead of setting a ready time: each
 * g_source_add_poll(), g_source_remove_poll() or g_source_set_ready_time()
 * wakes the main context up, so doing them before every poll made the
 * next poll return at once, and the helper spun a core for as long as it
 * ran (on a busy 2-core machine a `virsh restore` took up to 3 times
 * as long as with Debian's libslirp-helper: BENCHMARKS.md). The timeout
 * is a deadline kept until dispatch: moved on at each prepare, it never
 * came, and libslirp's TCP timers (retransmission among them) never ran. */
struct _SlirpPollSource
{
  GSource      source;
  SlirpHelper *helper;
  GArray      *fds;       /* GPollFD, each added to the source */
  GArray      *wanted;    /* GPollFD, what slirp_pollfds_fill() asks now */
  gint64       expiry;    /* when libslirp's timeout is up (monotonic), or -1 */
};

static int
add_poll (int fd, int events, void *opaque)
{
  SlirpPollSource *ps = opaque;
  GPollFD pfd = { .fd = fd };

  if (events & SLIRP_POLL_IN)
    pfd.events |= G_IO_IN;
  if (events & SLIRP_POLL_OUT)
    pfd.events |= G_IO_OUT;
  if (events & SLIRP_POLL_PRI)
    pfd.events |= G_IO_PRI;
  g_array_append_val (ps->wanted, pfd);
  return ps->wanted->len - 1;
}

static int
get_revents (int idx, void *opaque)
{
  SlirpPollSource *ps = opaque;
  gushort revents = g_array_index (ps->fds, GPollFD, idx).revents;
  int events = 0;

  if (revents & G_IO_IN)
    events |= SLIRP_POLL_IN;
  if (revents & G_IO_OUT)
    events |= SLIRP_POLL_OUT;
  if (revents & G_IO_PRI)
    events |= SLIRP_POLL_PRI;
  if (revents & G_IO_ERR)
    events |= SLIRP_POLL_ERR;
  if (revents & G_IO_HUP)
    events |= SLIRP_POLL_HUP;
  return events;
}

static gboolean
same_polls (GArray *a, GArray *b)
{
  if (a->len != b->len)
    return FALSE;
  for (guint i = 0; i < a->len; i++)
    {
      GPollFD *x = &g_array_index (a, GPollFD, i), *y = &g_array_index (b, GPollFD, i);

      if (x->fd != y->fd || x->events != y->events)
        return FALSE;
    }
  return TRUE;
}

static gboolean
poll_prepare (GSource *source, int *timeout)
{
  SlirpPollSource *ps = (SlirpPollSource *) source;
  guint32 slirp_timeout = G_MAXUINT32;
  gint64 now;

  g_array_set_size (ps->wanted, 0);
  slirp_pollfds_fill (ps->helper->slirp, &slirp_timeout, add_poll, ps);

  if (same_polls (ps->fds, ps->wanted))
    {
      for (guint i = 0; i < ps->fds->len; i++)
        g_array_index (ps->fds, GPollFD, i).revents = 0;
    }
  else
    {
      GArray *old = ps->fds;

      for (guint i = 0; i < old->len; i++)
        g_source_remove_poll (source, &g_array_index (old, GPollFD, i));
      ps->fds = ps->wanted;
      ps->wanted = old;
      /* the array is complete: its elements no longer move */
      for (guint i = 0; i < ps->fds->len; i++)
        g_source_add_poll (source, &g_array_index (ps->fds, GPollFD, i));
    }

  /* The earliest time asked for stands until dispatch: a guest's frames
   * (each a new prepare) must not push libslirp's timers back for ever. */
  now = g_get_monotonic_time ();
  if (slirp_timeout != G_MAXUINT32)
    {
      gint64 due = now + slirp_timeout * G_GINT64_CONSTANT (1000);

      if (ps->expiry < 0 || due < ps->expiry)
        ps->expiry = due;
    }
  if (ps->expiry < 0)
    {
      *timeout = -1;
      return FALSE;
    }
  if (ps->expiry <= now)
    {
      *timeout = 0;
      return TRUE;
    }
  /* rounded up: rounding down would poll again before it is due */
  *timeout = MIN ((ps->expiry - now + 999) / 1000, G_MAXINT);
  return FALSE;
}

static gboolean
poll_check (GSource *source)
{
  SlirpPollSource *ps = (SlirpPollSource *) source;

  if (ps->expiry >= 0 && g_get_monotonic_time () >= ps->expiry)
    return TRUE;
  for (guint i = 0; i < ps->fds->len; i++)
    if (g_array_index (ps->fds, GPollFD, i).revents)
      return TRUE;
  return FALSE;
}

static gboolean
poll_dispatch (GSource *source, GSourceFunc unused, gpointer unused_data)
{
  SlirpPollSource *ps = (SlirpPollSource *) source;

  ps->expiry = -1;
  slirp_pollfds_poll (ps->helper->slirp, FALSE, get_revents, ps);
  return G_SOURCE_CONTINUE;
}

static void
poll_finalize (GSource *source)
{
  SlirpPollSource *ps = (SlirpPollSource *) source;

  g_array_unref (ps->fds);
  g_array_unref (ps->wanted);
}

static GSourceFuncs poll_funcs = {
  .prepare = poll_prepare,
  .check = poll_check,
  .dispatch = poll_dispatch,
  .finalize = poll_finalize,
};

/* --- the guest's frames ------------------------------------------------ */

static gboolean
on_frame (int fd, GIOCondition condition, gpointer user_data)
{
  SlirpHelper *self = user_data;
  guint8 frame[65536];
  ssize_t len = recv (fd, frame, sizeof frame, MSG_DONTWAIT);

  if (len < 0)
    {
      if (errno != EAGAIN && errno != EINTR)
        g_warning ("cannot read a frame from the guest: %s", g_strerror (errno));
      return G_SOURCE_CONTINUE;
    }
  /* A migration's destination holds the network until its state comes:
   * the guest must not see a stack that the Load then replaces. */
  if (vmstate_service_get_incoming (VMSTATE_SERVICE (self)))
    return G_SOURCE_CONTINUE;
  slirp_input (self->slirp, frame, len);
  return G_SOURCE_CONTINUE;
}

/* --- the stack ---------------------------------------------------------- */

static void
slirp_helper_set_stack (SlirpHelper *self, Slirp *slirp)
{
  if (self->slirp)
    slirp_cleanup (self->slirp);
  self->slirp = slirp;
}

/* ADDRESS/PREFIX, as libvirt passes an <ip> element: the address may
 * have host bits set. */
static GInetAddress *
parse_cidr (const char *option, const char *arg, GSocketFamily family, guint *prefix)
{
  g_auto(GStrv) parts = g_strsplit (arg, "/", 2);
  g_autoptr(GInetAddress) address = g_inet_address_new_from_string (parts[0]);
  guint max = family == G_SOCKET_FAMILY_IPV4 ? 32 : 128;
  guint64 len;

  if (address == NULL || g_inet_address_get_family (address) != family || parts[1] == NULL ||
      !g_ascii_string_to_unsigned (parts[1], 10, 0, max, &len, NULL))
    {
      g_printerr ("vmstate-slirp-helper: %s=%s: not an %s network (ADDRESS/PREFIX)\n",
                  option, arg, family == G_SOCKET_FAMILY_IPV4 ? "IPv4" : "IPv6");
      return NULL;
    }
  *prefix = len;
  return g_steal_pointer (&address);
}

/* --net=A.B.C.D/P: the guest's network; the host (the gateway) is .2, the
 * DNS relay .3, and DHCP hands out addresses from .15, as in QEMU. */
static gboolean
parse_net (SlirpConfig *config, const char *arg)
{
  guint prefix;
  g_autoptr(GInetAddress) address = parse_cidr ("--net", arg, G_SOCKET_FAMILY_IPV4, &prefix);
  guint32 net, mask;

  if (address == NULL)
    return FALSE;
  mask = prefix ? G_MAXUINT32 << (32 - prefix) : 0;
  memcpy (&net, g_inet_address_to_bytes (address), 4);
  net = g_ntohl (net) & mask;
  config->vnetwork.s_addr = g_htonl (net);
  config->vnetmask.s_addr = g_htonl (mask);
  config->vhost.s_addr = g_htonl (net | 2);
  config->vnameserver.s_addr = g_htonl (net | 3);
  config->vdhcp_start.s_addr = g_htonl (net | 15);
  return TRUE;
}

/* --net6=X::Y/P: the guest's IPv6 prefix; the host is ::2, DNS ::3. */
static gboolean
parse_net6 (SlirpConfig *config, const char *arg)
{
  guint prefix;
  g_autoptr(GInetAddress) address = parse_cidr ("--net6", arg, G_SOCKET_FAMILY_IPV6, &prefix);

  if (address == NULL)
    return FALSE;
  memcpy (&config->vprefix_addr6, g_inet_address_to_bytes (address), 16);
  for (guint bit = prefix; bit < 128; bit++)
    config->vprefix_addr6.s6_addr[bit / 8] &= ~(0x80 >> (bit % 8));
  config->vprefix_len = prefix;
  config->vhost6 = config->vprefix_addr6;
  config->vhost6.s6_addr[15] |= 2;
  config->vnameserver6 = config->vprefix_addr6;
  config->vnameserver6.s6_addr[15] |= 3;
  return TRUE;
}

/* Checks the command line, printing what is wrong. */
static gboolean
slirp_helper_configure (SlirpHelper *self)
{
  SlirpConfig *config = &self->config;
  int type = 0;
  socklen_t type_len = sizeof type;

  if (self->fd < 0)
    {
      g_printerr ("vmstate-slirp-helper: --fd is required: the guest's datagram socket\n");
      return FALSE;
    }
  if (getsockopt (self->fd, SOL_SOCKET, SO_TYPE, &type, &type_len) < 0 || type != SOCK_DGRAM)
    {
      g_printerr ("vmstate-slirp-helper: --fd=%d: not a datagram socket\n", self->fd);
      return FALSE;
    }

  *config = (SlirpConfig) {
    .version = 4,
    .restricted = self->restrict_guest,
    .in_enabled = TRUE,
    .in6_enabled = TRUE,
  };
  return parse_net (config, self->net ? self->net : "10.0.2.0/24") &&
         parse_net6 (config, self->net6 ? self->net6 : "fec0::/64");
}

/* handle-options: check the command line and build the stack (cheap: no
 * socket is opened before the guest connects somewhere). Returns -1 to go
 * on, or 2 for a usage error. */
static int
on_handle_options (VmstateService *service, GVariantDict *options, gpointer user_data)
{
  SlirpHelper *self = SLIRP_HELPER (service);

  if (!slirp_helper_configure (self))
    return 2;
  slirp_helper_set_stack (self, slirp_new (&self->config, &slirp_callbacks, self));

  self->poll_source = (SlirpPollSource *) g_source_new (&poll_funcs, sizeof (SlirpPollSource));
  self->poll_source->helper = self;
  self->poll_source->fds = g_array_new (FALSE, FALSE, sizeof (GPollFD));
  self->poll_source->wanted = g_array_new (FALSE, FALSE, sizeof (GPollFD));
  self->poll_source->expiry = -1;
  g_source_set_name ((GSource *) self->poll_source, "slirp sockets");
  g_source_attach ((GSource *) self->poll_source, NULL);

  self->frame_watch = g_unix_fd_add (self->fd, G_IO_IN, on_frame, self);
  return -1;
}

/* --- the state ---------------------------------------------------------- */

static ssize_t
write_state (const void *buf, size_t len, void *opaque)
{
  g_byte_array_append (opaque, buf, len);
  return len;
}

typedef struct
{
  const guint8 *data;
  gsize         left;
} StateReader;

static ssize_t
read_state (void *buf, size_t len, void *opaque)
{
  StateReader *reader = opaque;

  len = MIN (len, reader->left);
  memcpy (buf, reader->data, len);
  reader->data += len;
  reader->left -= len;
  return len;
}

static GBytes *
slirp_helper_save (VmstateService *service, GError **error)
{
  SlirpHelper *self = SLIRP_HELPER (service);
  GByteArray *state = g_byte_array_new ();
  guint32 version = GUINT32_TO_BE (slirp_state_version ());

  g_byte_array_append (state, (const guint8 *) &version, sizeof version);
  slirp_state_save (self->slirp, write_state, state);
  return g_byte_array_free_to_bytes (state);
}

/* Loads into a new stack, and keeps the old one if the state is bad. */
static gboolean
slirp_helper_load (VmstateService *service, GBytes *state, GError **error)
{
  SlirpHelper *self = SLIRP_HELPER (service);
  StateReader reader = { .data = g_bytes_get_data (state, &reader.left) };
  guint32 version;
  Slirp *slirp;
  int ret;

  if (reader.left < sizeof version)
    {
      g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_FAILED,
                   "slirp state of %zu bytes: too short for its version", reader.left);
      return FALSE;
    }
  memcpy (&version, reader.data, sizeof version);
  version = GUINT32_FROM_BE (version);
  reader.data += sizeof version;
  reader.left -= sizeof version;
  if (version > (guint32) slirp_state_version ())
    {
      g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_FAILED,
                   "slirp state version %u is newer than this libslirp %s can load (%d)",
                   version, slirp_version_string (), slirp_state_version ());
      return FALSE;
    }

  slirp = slirp_new (&self->config, &slirp_callbacks, self);
  ret = slirp_state_load (slirp, version, read_state, &reader);
  if (ret < 0)
    {
      slirp_cleanup (slirp);
      g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_FAILED,
                   "libslirp %s cannot load this slirp state (version %u): %s",
                   slirp_version_string (), version, g_strerror (-ret));
      return FALSE;
    }
  slirp_helper_set_stack (self, slirp);
  g_message ("loaded a slirp state of %zu bytes (version %u)", g_bytes_get_size (state), version);
  return TRUE;
}

/* --- the object ---------------------------------------------------------- */

static void
slirp_helper_finalize (GObject *object)
{
  SlirpHelper *self = SLIRP_HELPER (object);

  g_clear_handle_id (&self->frame_watch, g_source_remove);
  if (self->poll_source)
    {
      g_source_destroy ((GSource *) self->poll_source);
      g_source_unref ((GSource *) self->poll_source);
    }
  slirp_helper_set_stack (self, NULL);
  g_free (self->net);
  g_free (self->net6);
  G_OBJECT_CLASS (slirp_helper_parent_class)->finalize (object);
}

static void
slirp_helper_class_init (SlirpHelperClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = slirp_helper_finalize;
  VMSTATE_SERVICE_CLASS (klass)->save = slirp_helper_save;
  VMSTATE_SERVICE_CLASS (klass)->load = slirp_helper_load;
}

static void
slirp_helper_init (SlirpHelper *self)
{
  self->fd = -1;
}

int
main (int argc, char **argv)
{
  g_autoptr(SlirpHelper) self = g_object_new (SLIRP_TYPE_HELPER, "id", "slirp",
                                              "helper-type", "slirp-helper", NULL);
  const GOptionEntry entries[] = {
    { "fd", 0, 0, G_OPTION_ARG_INT, &self->fd,
      "The guest's socket: AF_UNIX, SOCK_DGRAM, one Ethernet frame per datagram", "N" },
    { "net", 0, 0, G_OPTION_ARG_STRING, &self->net,
      "The guest's IPv4 network (default 10.0.2.0/24)", "A.B.C.D/P" },
    { "net6", 0, 0, G_OPTION_ARG_STRING, &self->net6,
      "The guest's IPv6 prefix (default fec0::/64)", "X::Y/P" },
    { "restrict", 0, 0, G_OPTION_ARG_NONE, &self->restrict_guest,
      "Isolate the guest: no traffic beyond the helper's own services", NULL },
    G_OPTION_ENTRY_NULL
  };
  GOptionGroup *group = g_option_group_new ("slirp", "Network options:", "Show the network options",
                                            NULL, NULL);

  g_option_group_add_entries (group, entries);
  vmstate_service_add_option_group (VMSTATE_SERVICE (self), group);
  /* what libvirt looks for in --print-capabilities, with the runtime's
   * dbus-address, migrate, exit-with-parent and notify-socket */
  vmstate_service_add_feature (VMSTATE_SERVICE (self), "ipv4");
  vmstate_service_add_feature (VMSTATE_SERVICE (self), "ipv6");
  vmstate_service_add_feature (VMSTATE_SERVICE (self), "restrict");
  g_signal_connect (self, "handle-options", G_CALLBACK (on_handle_options), NULL);

  return vmstate_service_run (VMSTATE_SERVICE (self), argc, argv);
}
