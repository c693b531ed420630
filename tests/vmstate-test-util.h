/* vmstate-test-util.h: helper processes and buses for the tests
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
void          test_save_until_inside (VmstateCollector  *collector,
                                      GCancellable      *cancellable,
                                      TestHelper        *hung,
                                      GAsyncResult     **result);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TestHelper, test_helper_free)

G_END_DECLS
