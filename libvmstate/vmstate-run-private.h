/* vmstate-run-private.h: what the files of the helper runtime,
 * vmstate_service_run(), share
 *
 * - vmstate-service-run.c: its properties and signals, and the run
 *   itself: join the bus, serve, leave;
 * - vmstate-run-options.c: the command line and --print-capabilities;
 * - vmstate-run-process.c: the process's dealings with whoever started
 *   it: SIGTERM and SIGINT, --exit-with-parent, NOTIFY_SOCKET.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <sys/types.h>

#include "vmstate-service.h"
#include "vmstate-service-private.h"

G_BEGIN_DECLS

/* The runtime's data, on the service as qdata. */
typedef struct
{
  char          *helper_type;
  GPtrArray     *features;      /* char *, the helper's own */
  GPtrArray     *groups;        /* GOptionGroup * */
  GPtrArray     *main_options;  /* MainOption * (vmstate-run-options.c) */
  GVariantDict  *options;       /* the parsed main options, once parsed */
  gboolean       incoming;
  guint          incoming_timeout_msec;

  /* while vmstate_service_run() runs */
  gboolean       running;
  gboolean       quitting;
  int            exit_status;
  GMainLoop     *loop;
  pid_t          parent_pid;    /* 0 without --exit-with-parent */
  GSource       *sigterm;
  GSource       *sigint;
  GSource       *incoming_timeout;
  gulong         loaded_id;
} RunData;

/* The runtime's own options, as the command line gave them. */
typedef struct
{
  char     *address;
  char     *id;
  gboolean  incoming;
  gboolean  exit_with_parent;
  gboolean  print_capabilities;
  /* the program's name, for usage errors */
  char     *program;
} BuiltinOptions;

void _vmstate_run_builtin_options_clear (BuiltinOptions *options);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (BuiltinOptions, _vmstate_run_builtin_options_clear)

/* Logs "helper 'ID': " and the message, with the Id as the field
 * VMSTATE_HELPER_ID (a journal match). @format must be a literal. */
#define _vmstate_run_log(self, level, format, ...) \
  _vmstate_service_log ((self), (level), NULL, NULL, ": " format, ##__VA_ARGS__)

/* vmstate-service-run.c */
RunData *_vmstate_run_data_get (VmstateService *self);

/* vmstate-run-options.c */
void     _vmstate_run_main_option_free   (gpointer            data);
/* Parses @argv into @builtin and the helper's options (see
 * vmstate_service_run()): -1 to go on, or an exit status after a usage
 * error. */
int      _vmstate_run_parse_options      (VmstateService     *self,
                                          int                 argc,
                                          char              **argv,
                                          BuiltinOptions     *builtin);
/* Once the helper handled its options: takes --dbus-id, and checks that
 * there is a valid Id and an address. -1 to go on, or 2 after a usage
 * error. */
int      _vmstate_run_check_options      (VmstateService     *self,
                                          const BuiltinOptions *builtin);
/* --print-capabilities: the exit status */
int      _vmstate_run_print_capabilities (VmstateService     *self);

/* vmstate-run-process.c */
/* SIGTERM and SIGINT quit the run with status 0, from now until
 * _vmstate_run_unwatch_signals(). */
void     _vmstate_run_watch_signals      (VmstateService     *self,
                                          GMainContext       *context);
void     _vmstate_run_unwatch_signals    (VmstateService     *self);
/* --exit-with-parent: the parent's death sends us SIGTERM. */
void     _vmstate_run_watch_parent       (VmstateService     *self);
void     _vmstate_run_unwatch_parent     (VmstateService     *self);
/* TRUE, and logs it, if the parent watched with --exit-with-parent
 * exited. */
gboolean _vmstate_run_parent_exited      (VmstateService     *self);
/* sd_notify (0, "READY=1"), if NOTIFY_SOCKET is set. */
void     _vmstate_run_notify_ready       (VmstateService     *self);

G_END_DECLS
