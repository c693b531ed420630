/* vmstate-bench-conntrack.h: a realistic conntrack-like table
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* About @size bytes (exactly, truncated at the end) of text in the format
 * of /proc/net/nf_conntrack: a NATed VM's guest addresses talking to a
 * pool of remote hosts, random ephemeral ports, timeouts, TCP states,
 * marks and zones, as a conntrack helper would migrate it. Deterministic
 * for a @seed. */
GBytes *bench_conntrack_table (gsize size,
                               guint32 seed);

G_END_DECLS
