/* vmstate-bench-conntrack.c: a realistic conntrack-like table
 *
 * Used by the envelope benchmark, the envelope tests and the QEMU
 * interop test (issue 13), all through `vmstate-bench-envelope
 * --write-conntrack` or this function, so that they compress the same
 * kind of data.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "vmstate-bench-conntrack.h"

/* xorshift32: deterministic across runs and machines */
static guint32
next (guint32 *x)
{
  *x ^= *x << 13;
  *x ^= *x >> 17;
  *x ^= *x << 5;
  return *x;
}

static const char * const tcp_states[] = {
  "ESTABLISHED", "ESTABLISHED", "ESTABLISHED", "ESTABLISHED", "ESTABLISHED",
  "TIME_WAIT", "TIME_WAIT", "SYN_SENT", "CLOSE_WAIT", "FIN_WAIT",
};
static const guint16 services[] = { 443, 443, 443, 443, 80, 80, 53, 22, 123, 993, 5222, 8080 };

GBytes *
bench_conntrack_table (gsize   size,
                       guint32 seed)
{
  GString *t = g_string_sized_new (size + 512);
  guint32 x = 2463534242u ^ seed;
  guint32 remotes[2048];

  if (x == 0)
    x = 1;
  /* a pool of remote hosts, as a VM talks to a limited set of servers */
  for (guint i = 0; i < G_N_ELEMENTS (remotes); i++)
    remotes[i] = next (&x);

  while (t->len < size)
    {
      guint32 r = next (&x);
      guint32 remote = remotes[r % G_N_ELEMENTS (remotes)];
      guint guest = 10 + (r >> 9) % 40;      /* 10.0.2.10 .. 10.0.2.49 */
      guint sport = 32768 + next (&x) % 28232;
      guint dport = services[(r >> 16) % G_N_ELEMENTS (services)];
      guint nat_port = 1024 + next (&x) % 64511;
      guint kind = (r >> 24) % 10;           /* 0..6 tcp, 7..8 udp, 9 icmp */
      guint mark = (r >> 28) == 0 ? (r & 0xff) : 0;
      char rip[16];

      g_snprintf (rip, sizeof rip, "%u.%u.%u.%u", remote >> 24, (remote >> 16) & 0xff,
                  (remote >> 8) & 0xff, remote & 0xff);
      if (kind <= 6)
        {
          const char *state = tcp_states[next (&x) % G_N_ELEMENTS (tcp_states)];
          guint timeout = g_str_equal (state, "ESTABLISHED") ? 300000 + next (&x) % 132000
                                                             : next (&x) % 120;

          g_string_append_printf (t,
            "ipv4     2 tcp      6 %u %s src=10.0.2.%u dst=%s sport=%u dport=%u "
            "src=%s dst=192.168.122.15 sport=%u dport=%u %smark=%u zone=0 use=2\n",
            timeout, state, guest, rip, sport, dport, rip, dport, nat_port,
            g_str_equal (state, "ESTABLISHED") ? "[ASSURED] " : "", mark);
        }
      else if (kind <= 8)
        g_string_append_printf (t,
          "ipv4     2 udp      17 %u src=10.0.2.%u dst=%s sport=%u dport=%u "
          "src=%s dst=192.168.122.15 sport=%u dport=%u %smark=%u zone=0 use=2\n",
          next (&x) % 180, guest, rip, sport, dport, rip, dport, nat_port,
          (r & 1) ? "[ASSURED] " : "", mark);
      else
        g_string_append_printf (t,
          "ipv4     2 icmp     1 %u src=10.0.2.%u dst=%s type=8 code=0 id=%u "
          "src=%s dst=192.168.122.15 type=0 code=0 id=%u mark=%u zone=0 use=2\n",
          next (&x) % 30, guest, rip, sport & 0xffff, rip, nat_port, mark);
    }
  g_string_truncate (t, size);
  return g_string_free_to_bytes (t);
}
