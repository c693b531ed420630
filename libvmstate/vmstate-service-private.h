/* vmstate-service-private.h: what the files of VmstateService share
 * (vmstate-service.c lists them)
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

/* The properties of VmstateService. The runtime's, the last three, are
 * made by vmstate-service-run.c. */
typedef enum
{
  SERVICE_PROP_0,
  SERVICE_PROP_ID,
  SERVICE_PROP_MAX_STATE_SIZE,
  SERVICE_PROP_CONNECTION,
  SERVICE_PROP_ALLOWED_UIDS,
  SERVICE_PROP_STATE_VERSION,
  SERVICE_PROP_MIN_STATE_VERSION,
  SERVICE_PROP_COMPRESS,
  SERVICE_PROP_MAX_UNCOMPRESSED_SIZE,
  SERVICE_PROP_INCOMING,
  SERVICE_PROP_INCOMING_TIMEOUT_MSEC,
  SERVICE_PROP_HELPER_TYPE,
  SERVICE_N_PROPS
} VmstateServiceProperty;

/* vmstate-service.c */
VmstateServicePrivate *_vmstate_service_get_private (VmstateService *self);
void     _vmstate_service_notify      (VmstateService         *self,
                                       VmstateServiceProperty  prop);
/* Sets *@field to @value and notifies @prop, if that changes it. */
void     _vmstate_service_set_uint    (VmstateService         *self,
                                       guint                  *field,
                                       guint                   value,
                                       VmstateServiceProperty  prop);
/* Emits VmstateService::loaded. */
void     _vmstate_service_emit_loaded (VmstateService         *self);
/* The unique name of the service on its bus, for messages. */
const char *_vmstate_service_bus_name (VmstateService         *self);
/* Logs "helper 'ID'" and the message (@format goes on from the Id, as
 * in ": ..."), with the Id as the field VMSTATE_HELPER_ID (a journal
 * match) and @field=@value unless @field is %NULL. */
void     _vmstate_service_log         (VmstateService         *self,
                                       GLogLevelFlags          level,
                                       const char             *field,
                                       const char             *value,
                                       const char             *format,
                                       ...) G_GNUC_PRINTF (5, 6);

/* vmstate-service-vfuncs.c: installs the default vfuncs. */
void     _vmstate_service_class_init_vfuncs (VmstateServiceClass *klass);

/* vmstate-service-calls.c: answering Save and Load */
extern const GDBusInterfaceVTable _vmstate_service_vtable;
/* From export to unexport, on a message bus: a peer that leaves the
 * bus has its calls cancelled and its uid forgotten. */
void     _vmstate_service_watch_peers   (VmstateService  *self);
void     _vmstate_service_unwatch_peers (VmstateService  *self,
                                         GDBusConnection *connection);
/* On unexport: empties the uid cache, answers the calls still waiting
 * for their caller's uid, and cancels every call. */
void     _vmstate_service_cancel_calls  (VmstateService  *self);

/* vmstate-service-envelope.c */
GBytes  *_vmstate_service_wrap_state   (VmstateService  *self,
                                        GBytes          *raw,
                                        GError         **error);
GBytes  *_vmstate_service_unwrap_state (VmstateService  *self,
                                        GBytes          *wrapped,
                                        guint           *version,
                                        GError         **error);

/* vmstate-service-run.c: makes the runtime's properties, in
 * @properties, and its signals; called by vmstate_service_class_init(). */
void     _vmstate_service_run_class_init (VmstateServiceClass  *klass,
                                          GParamSpec          **properties);

G_END_DECLS
