/* faults-bus.h: a private dbus-daemon with a chosen configuration, and
 * helper processes and collectors on it
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "../vmstate-test-util.h"

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

/* The first arguments of a helper on @bus, for test_helper_spawn(): it
 * prints no LOADED lines, its states are 64 bytes unless later arguments
 * say otherwise, and its max-state-size fits them. */
#define FAULTS_HELPER_ON(bus) \
  "--address", (bus)->address, "--quiet", "--fit-max-state-size", "--state-size=64"

VmstateCollector *faults_collector_new (FaultsBus  *bus);
gsize             faults_rss_kib       (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FaultsBus, faults_bus_free)

G_END_DECLS
