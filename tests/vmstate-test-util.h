/* vmstate-test-util.h: what the C tests share: helper processes, buses,
 * async results, error checks, and an in-process service on a private bus
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <libvmstate/libvmstate.h>

G_BEGIN_DECLS

/* A process of tests/helper/vmstate-test-helper */
typedef struct
{
  GSubprocess      *process;
  GDataInputStream *out;
  char             *unique_name;
  guint             pid;
} TestHelper;

TestHelper *test_helper_spawn      (const char *first_arg,
                                    ...) G_GNUC_NULL_TERMINATED;
TestHelper *test_helper_spawnv     (const char * const *args);
char       *test_helper_read_line  (TestHelper   *helper,
                                    GMainContext *context);
void        test_helper_expect_loaded (TestHelper *helper,
                                       GBytes     *state);
void        test_helper_expect_state_line (TestHelper *helper,
                                           const char *what,
                                           GBytes     *state);
void        test_helper_kill       (TestHelper *helper);
gboolean    test_helper_wait_exit  (TestHelper *helper);
void        test_helper_free       (TestHelper *helper);

GBytes     *test_make_state        (gsize       size,
                                    int         seed);
GBytes     *test_blob_of           (const char *first_id,
                                    ...) G_GNUC_NULL_TERMINATED;

GDBusConnection *test_bus_connect (const char *address);
void             test_remove_dir  (const char *dir);

/* Async results, waited for on the thread-default main context */
void          test_store_result (GObject      *source,
                                 GAsyncResult *result,
                                 gpointer      user_data);
GAsyncResult *test_wait_result  (GAsyncResult **result);
guint         test_watchdog_add (const char    *what);
void          test_save_until_inside (VmstateCollector  *collector,
                                      GCancellable      *cancellable,
                                      TestHelper        *hung,
                                      GAsyncResult     **result);

void          test_assert_message_has  (const GError *error,
                                        const char   *first,
                                        ...) G_GNUC_NULL_TERMINATED;
void          test_assert_message_hasv (const GError *error,
                                        const char   *first,
                                        va_list       ap);
void          test_assert_failed       (const GError *error,
                                        GQuark        domain,
                                        int           code,
                                        const char   *first,
                                        va_list       ap);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TestHelper, test_helper_free)

/* A service in this process whose behaviour each test sets */
#define TEST_TYPE_SERVICE (test_service_get_type ())
G_DECLARE_FINAL_TYPE (TestService, test_service, TEST, SERVICE, VmstateService)

typedef enum
{
  TEST_SERVICE_OK,              /* save() gives state, load() keeps it in loaded */
  TEST_SERVICE_ERROR,           /* both fail with an error */
  TEST_SERVICE_NULL_NO_ERROR,   /* both fail without setting one */
  TEST_SERVICE_ASYNC,           /* save_async() answers after 50 ms */
  TEST_SERVICE_WAIT,            /* save_async() answers only when cancelled */
} TestServiceMode;

struct _TestService
{
  VmstateService  parent_instance;
  TestServiceMode mode;
  GBytes         *state;           /* what save() gives, at first "state!" */
  guint           n_save;
  guint           n_load;
  GBytes         *loaded;
  guint           loaded_version;  /* the loading-version load() saw */
  /* TEST_SERVICE_WAIT: a Save is waiting on its cancellable; it was cancelled */
  gboolean        waiting;
  gboolean        cancelled;
  /* the threads save() and ::loaded ran in */
  GThread        *save_thread;
  GThread        *loaded_thread;
};

/* A private bus (GTestDBus) with a TestService of Id "svc" exported on
 * the connection server, and another connection, client, to call it:
 * a fixture for g_test_add(). */
typedef struct
{
  GTestDBus       *bus;
  GDBusConnection *server;
  GDBusConnection *client;
  TestService     *service;
} ServiceBus;

void             service_bus_setup       (ServiceBus   *f,
                                          gconstpointer data);
void             service_bus_teardown    (ServiceBus   *f,
                                          gconstpointer data);
GDBusConnection *service_bus_connect     (ServiceBus   *f);
GVariant        *service_bus_call        (ServiceBus   *f,
                                          const char   *dest,
                                          const char   *path,
                                          const char   *iface,
                                          const char   *method,
                                          GVariant     *params,
                                          GError      **error);
GVariant        *service_bus_call_helper (ServiceBus   *f,
                                          const char   *method,
                                          GVariant     *params,
                                          GError      **error);
GBytes          *service_bus_save        (ServiceBus   *f,
                                          GError      **error);
gboolean         service_bus_load        (ServiceBus   *f,
                                          GBytes       *state,
                                          GError      **error);
void             service_bus_save_fails  (ServiceBus   *f,
                                          GQuark        domain,
                                          int           code,
                                          const char   *first,
                                          ...) G_GNUC_NULL_TERMINATED;
void             service_bus_load_fails  (ServiceBus   *f,
                                          GBytes       *state,
                                          GQuark        domain,
                                          int           code,
                                          const char   *first,
                                          ...) G_GNUC_NULL_TERMINATED;

G_END_DECLS
