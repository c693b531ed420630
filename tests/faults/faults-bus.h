/* faults-bus.h: a private dbus-daemon with a chosen configuration, and
 * fault helper processes on it
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <libvmstate/libvmstate.h>

G_BEGIN_DECLS

typedef struct
{
  GSubprocess *process;
  char        *dir;
  char        *address;
  GPid         pid;
} FaultsBus;

FaultsBus *faults_bus_new          (const char *policy,
                                    const char *limits);
void       faults_bus_kill         (FaultsBus  *bus);
void       faults_bus_free         (FaultsBus  *bus);

typedef struct
{
  GSubprocess      *process;
  GDataInputStream *out;
  char             *unique_name;
  GPid              pid;
} FaultsHelper;

FaultsHelper *faults_helper_spawn     (FaultsBus    *bus,
                                       const char   *first_arg,
                                       ...) G_GNUC_NULL_TERMINATED;
char         *faults_helper_read_line (FaultsHelper *helper,
                                       GMainContext *context);
void          faults_helper_kill      (FaultsHelper *helper);
void          faults_helper_free      (FaultsHelper *helper);

GBytes       *faults_make_state       (gsize         size,
                                       int           seed);
gsize         faults_rss_kib          (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FaultsBus, faults_bus_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FaultsHelper, faults_helper_free)

G_END_DECLS
