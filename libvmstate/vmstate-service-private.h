/* vmstate-service-private.h: what vmstate-service.c shares with its
 * D-Bus side (vmstate-service-dbus.c) and the helper runtime
 * (vmstate-service-run.c)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "vmstate-service.h"

G_BEGIN_DECLS

/* The instance data of a VmstateService. */
typedef struct
{
  char            *id;
  guint            max_state_size;
  /* "au": who may call Save and Load; never NULL */
  GVariant        *allowed_uids;

  /* Set from export until unexport. While it is set the service holds a
   * reference on itself (see "Lifetime" in vmstate-service.c). */
  GDBusConnection *connection;
  /* The thread-default context at export: where everything runs. */
  GMainContext    *context;
  guint            registration_id;
  guint            name_owner_changed_id;
  gulong           closed_id;
  /* RequestName queued us or made us the owner, so unexport releases
   * the name; FALSE when the connection already held it. */
  gboolean         owns_name;
  /* TRUE once the name request was answered (export has finished). */
  gboolean         exported;
  /* Bumped by every export and unexport: an answer from the bus daemon
   * that was asked under another generation is stale. */
  guint            generation;
  /* sender unique name -> uid + 1 (so that 0 is "not cached"), for
   * this connection and this export only */
  GHashTable      *uid_cache;
  /* Call *: the Save and Load calls being answered */
  GPtrArray       *calls;

  /* Envelopes (issue 13, vmstate-envelope.c): state_version 0 is raw */
  guint            state_version;
  guint            min_state_version;
  gboolean         compress;
  guint            max_uncompressed_size;
  /* the version of the state being given to load or load_async */
  guint            loading_version;
} VmstateServicePrivate;

/* vmstate-service.c */
VmstateServicePrivate *_vmstate_service_get_private (VmstateService *self);
/* Notifies VmstateService:connection. */
void     _vmstate_service_notify_connection (VmstateService *self);
/* Emits VmstateService::loaded. */
void     _vmstate_service_emit_loaded       (VmstateService *self);

/* vmstate-service-dbus.c: the public functions of the same names, once
 * their arguments are checked */
gboolean _vmstate_service_export        (VmstateService   *self,
                                         GDBusConnection  *connection,
                                         GError          **error);
/* Takes over @export_task (its source tag and flags set by the caller). */
void     _vmstate_service_export_async  (VmstateService   *self,
                                         GDBusConnection  *connection,
                                         GTask            *export_task);
void     _vmstate_service_unexport      (VmstateService   *self);
/* The unique name of the service on its bus, for messages. */
const char *_vmstate_service_bus_name   (VmstateService   *self);

/* vmstate-service-run.c */
/* Installs the runtime's properties (ids from @first_prop_id on) and
 * signals; called by vmstate_service_class_init(). */
void     _vmstate_service_run_class_init   (VmstateServiceClass *klass,
                                            guint                first_prop_id);
/* @prop_id counts from 0 at the runtime's first property; FALSE if it is
 * not one of them. */
gboolean _vmstate_service_run_get_property (VmstateService      *self,
                                            guint                prop_id,
                                            GValue              *value);
gboolean _vmstate_service_run_set_property (VmstateService      *self,
                                            guint                prop_id,
                                            const GValue        *value);

G_END_DECLS
