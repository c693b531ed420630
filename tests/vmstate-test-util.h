/* vmstate-test-util.h: helper processes and buses for the tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <libvmstate/libvmstate.h>

G_BEGIN_DECLS

typedef struct
{
  GSubprocess      *process;
  GDataInputStream *out;
  char             *unique_name;
  guint             pid;
} TestHelper;

TestHelper *test_helper_spawn      (const char *first_arg,
                                    ...) G_GNUC_NULL_TERMINATED;
char       *test_helper_read_line  (TestHelper *helper);
void        test_helper_expect_loaded (TestHelper *helper,
                                       GBytes     *state);
void        test_helper_free       (TestHelper *helper);
gboolean    test_helper_wait_exit  (TestHelper *helper);

GBytes     *test_make_state        (gsize       size,
                                    int         seed);

GDBusConnection *test_bus_connect (const char *address);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TestHelper, test_helper_free)

G_END_DECLS
