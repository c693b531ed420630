/* vmstate-discovery.c: finds the helpers of a collector's operation and
 * selects the ones to call
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Every operation starts with ListQueuedOwners("org.qemu.VMState1"),
 * then asks each owner its Id (by unique name). Then the Ids an
 * operation wants must be unique (the holders of a duplicated one are
 * named with their pids), the required helpers present, and, for a
 * load, every entry of the blob matched to a helper.
 */

#include "config.h"

#include <string.h>

#include "vmstate-collector-private.h"
#include "vmstate-discovery-private.h"
#include "vmstate-error.h"
#include "vmstate-util-private.h"

/* The first step of every operation: who owns org.qemu.VMState1? */

static void
on_list_queued_owners (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  VmstateOp *op = user_data;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree const char **names = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply == NULL)
    {
      if (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER))
        {
          /* No helper at all: an empty bus is not an error by itself. */
          g_clear_error (&error);
          names = g_new0 (const char *, 1);
        }
      else
        {
          g_autofree char *detail = _vmstate_describe_dbus_error (error);

          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            op->error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                             "listing the helpers was cancelled");
          else
            op->error = g_error_new (VMSTATE_ERROR, VMSTATE_ERROR_FAILED,
                                     "cannot list the owners of %s on the bus: %s",
                                     VMSTATE_DBUS_NAME, detail);
          _vmstate_op_fail (op);
          return;
        }
    }
  else
    g_variant_get (reply, "(^a&s)", &names);

  for (guint i = 0; names[i] != NULL; i++)
    {
      VmstateEntry *entry = g_new0 (VmstateEntry, 1);

      entry->unique_name = g_strdup (names[i]);
      g_ptr_array_add (op->helpers, entry);
    }

  op->helpers_found (op);
}

/* Lists the queued owners of org.qemu.VMState1 into op->helpers, then
 * calls @helpers_found. */
void
_vmstate_discovery_list_owners (VmstateOp     *op,
                                VmstateOpStep  helpers_found)
{
  op->helpers_found = helpers_found;
  g_dbus_connection_call (op->connection,
                          DBUS_NAME, DBUS_PATH, DBUS_INTERFACE,
                          "ListQueuedOwners",
                          g_variant_new ("(s)", VMSTATE_DBUS_NAME),
                          G_VARIANT_TYPE ("(as)"), G_DBUS_CALL_FLAGS_NONE,
                          op->timeout_msec, op->cancellable,
                          on_list_queued_owners, op);
}

/* The Id of a queued owner */

/* With required-ids, a save or a load ignores the helpers outside the
 * list, as QEMU's id-list does, and a helper whose Id is invalid cannot
 * be on it: its entry keeps no Id and is never selected. */
static gboolean
op_ignores_invalid_ids (VmstateOp *op)
{
  return op->kind != VMSTATE_OP_LIST && op->required_ids != NULL;
}

/* Keeps the Id in the Get reply @reply about @entry, if it is valid. */
static void
entry_take_id (VmstateOp    *op,
               VmstateEntry *entry,
               GVariant     *reply)
{
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GError) id_error = NULL;
  const char *id;
  gsize len;

  g_variant_get (reply, "(v)", &value);
  if (!g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
    {
      if (!op_ignores_invalid_ids (op))
        _vmstate_op_take_error (op, entry,
                       g_error_new (VMSTATE_ERROR, VMSTATE_ERROR_INVALID_ID,
                                    "helper %s has an Id of type '%s', not a string",
                                    entry->unique_name, g_variant_get_type_string (value)));
      return;
    }

  id = g_variant_get_string (value, &len);
  if (!_vmstate_check_id (id, len, &id_error))
    {
      if (!op_ignores_invalid_ids (op))
        {
          /* the whole Id, for vmstate_collector_get_failed_helpers() */
          entry->id = g_strdup (id);
          _vmstate_op_take_error (op, entry,
                         g_error_new (VMSTATE_ERROR, VMSTATE_ERROR_INVALID_ID,
                                      "helper %s has an invalid Id: %s",
                                      entry->unique_name, id_error->message));
        }
      return;
    }
  entry->id = g_strdup (id);
}

static const VmstateHelperMethod get_id = {
  "the Id query", DBUS_PROPERTIES_INTERFACE, "Get", "(v)", entry_take_id
};

/* Asks the helper of @entry its Id (one call). */
void
_vmstate_discovery_send_get_id (VmstateOp    *op,
                                VmstateEntry *entry)
{
  _vmstate_op_call_helper (op, entry, &get_id,
                           g_variant_new ("(ss)", VMSTATE_DBUS_INTERFACE, "Id"));
}

/* The pid of a helper (best effort) */

static void
on_get_pid (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autofree VmstateCall *call = user_data;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply != NULL)
    g_variant_get (reply, "(u)", &call->entry->pid);
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    _vmstate_op_take_error (call->op, NULL, g_steal_pointer (&error));
  _vmstate_op_call_done (call->op, call->entry);
}

/* Asks the bus daemon the pid of the helper of @entry (one call). */
void
_vmstate_discovery_send_get_pid (VmstateOp    *op,
                                 VmstateEntry *entry)
{
  g_dbus_connection_call (op->connection,
                          DBUS_NAME, DBUS_PATH, DBUS_INTERFACE,
                          "GetConnectionUnixProcessID",
                          g_variant_new ("(s)", entry->unique_name),
                          G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE,
                          op->timeout_msec, op->cancellable,
                          on_get_pid, _vmstate_call_new (op, entry));
}

/* By Id, then by unique name (the order list_helpers returns); entries
 * without an Id (see op_ignores_invalid_ids()) last. */
static int
compare_entries_by_id (gconstpointer a,
                       gconstpointer b)
{
  const VmstateEntry *ea = *(const VmstateEntry * const *) a;
  const VmstateEntry *eb = *(const VmstateEntry * const *) b;
  int c;

  if ((ea->id == NULL) != (eb->id == NULL))
    return ea->id == NULL ? 1 : -1;
  if (ea->id != NULL && (c = strcmp (ea->id, eb->id)) != 0)
    return c;
  return strcmp (ea->unique_name, eb->unique_name);
}

static char *
join_ids (GPtrArray *entries)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < entries->len; i++)
    {
      VmstateEntry *entry = g_ptr_array_index (entries, i);
      g_autofree char *id = NULL;

      if (entry->id == NULL)
        continue;
      id = _vmstate_abbreviate_id (entry->id);
      g_string_append_printf (s, "%s'%s' (%s)", s->len > 0 ? ", " : "", id, entry->unique_name);
    }
  if (s->len == 0)
    g_string_append (s, "none");
  return g_string_free (s, FALSE);
}

/* Appends 'id' to a list in a message, cut short. */
static void
append_id (GString    *list,
           guint      *n,
           const char *id)
{
  g_autofree char *shown = _vmstate_abbreviate_id (id);

  g_string_append_printf (list, "%s'%s'", (*n)++ ? ", " : "", shown);
}

static VmstateEntry *
find_helper (VmstateOp *op, const char *id)
{
  for (guint i = 0; i < op->helpers->len; i++)
    {
      VmstateEntry *entry = g_ptr_array_index (op->helpers, i);

      if (g_strcmp0 (entry->id, id) == 0)
        return entry;
    }
  return NULL;
}

/* Does the operation call the helper with this Id (if it is unique)? */
static gboolean
op_wants_id (VmstateOp  *op,
             const char *id)
{
  return id != NULL &&
         (op->required_ids == NULL ||
          g_strv_contains ((const char * const *) op->required_ids, id));
}

/* Called when the pids of the holders of duplicated Ids (op->faults,
 * sorted by Id) are known. */
static void
duplicates_done (VmstateOp *op)
{
  g_autoptr(GString) message = g_string_new (NULL);
  guint i = 0;

  while (i < op->faults->len)
    {
      VmstateEntry *first = g_ptr_array_index (op->faults, i);
      g_autofree char *id = _vmstate_abbreviate_id (first->id);
      guint n = 0;

      while (i + n < op->faults->len &&
             g_str_equal (((VmstateEntry *) g_ptr_array_index (op->faults, i + n))->id, first->id))
        n++;

      g_string_append_printf (message, "%s%u helpers have the Id '%s': ",
                              message->len > 0 ? "; " : "", n, id);
      for (guint j = 0; j < n; j++)
        {
          VmstateEntry *entry = g_ptr_array_index (op->faults, i + j);

          g_string_append_printf (message, "%s%s (pid %u)",
                                  j == 0 ? "" : j + 1 == n ? " and " : ", ",
                                  entry->unique_name, entry->pid);
        }
      i += n;
    }
  op->error = g_error_new (VMSTATE_ERROR, VMSTATE_ERROR_DUPLICATE_ID,
                           "%s (an Id must be unique on the bus)", message->str);
  _vmstate_op_fail (op);
}

/* Sorts op->helpers by Id, then by unique name. */
void
_vmstate_discovery_sort_helpers (VmstateOp *op)
{
  g_ptr_array_sort (op->helpers, compare_entries_by_id);
}

/* Sorts op->helpers by Id and refuses an Id the operation wants held
 * twice (helpers outside required-ids do not matter, as with QEMU's
 * id-list). When there is one, returns FALSE and fails the operation
 * once it has the pids of every holder, to name them. */
static gboolean
op_check_duplicates (VmstateOp *op)
{
  g_ptr_array_sort (op->helpers, compare_entries_by_id);

  for (guint i = 0; i < op->helpers->len; i++)
    {
      VmstateEntry *entry = g_ptr_array_index (op->helpers, i);
      VmstateEntry *prev = i > 0 ? g_ptr_array_index (op->helpers, i - 1) : NULL;
      VmstateEntry *next = i + 1 < op->helpers->len ? g_ptr_array_index (op->helpers, i + 1) : NULL;

      if (op_wants_id (op, entry->id) &&
          ((prev != NULL && g_strcmp0 (prev->id, entry->id) == 0) ||
           (next != NULL && g_strcmp0 (next->id, entry->id) == 0)))
        g_ptr_array_add (op->faults, entry);
    }
  if (op->faults->len == 0)
    return TRUE;

  _vmstate_op_call_each (op, op->faults, 1, _vmstate_discovery_send_get_pid, duplicates_done);
  return FALSE;
}

/* Selects the helpers to call into op->selected: every helper, or the
 * required ones, which must all be present. Returns FALSE when the
 * operation fails (then, or once the holders of a duplicated Id are
 * known). */
gboolean
_vmstate_discovery_select_helpers (VmstateOp *op)
{
  if (!op_check_duplicates (op))
    return FALSE;

  g_ptr_array_set_size (op->selected, 0);
  if (op->required_ids == NULL)
    {
      for (guint i = 0; i < op->helpers->len; i++)
        g_ptr_array_add (op->selected, g_ptr_array_index (op->helpers, i));
    }
  else
    {
      g_autoptr(GString) missing = g_string_new (NULL);
      guint n_missing = 0;

      for (guint i = 0; op->required_ids[i] != NULL; i++)
        {
          VmstateEntry *entry = find_helper (op, op->required_ids[i]);

          if (entry == NULL)
            append_id (missing, &n_missing, op->required_ids[i]);
          else if (!g_ptr_array_find (op->selected, entry, NULL))
            g_ptr_array_add (op->selected, entry);
        }

      if (n_missing > 0)
        {
          g_autofree char *present = join_ids (op->helpers);

          op->error = g_error_new (VMSTATE_ERROR, VMSTATE_ERROR_MISSING_HELPER,
                                   "%u required helper%s missing from the bus: %s "
                                   "(present: %s)", n_missing,
                                   n_missing == 1 ? " is" : "s are",
                                   missing->str, present);
          _vmstate_op_fail (op);
          return FALSE;
        }
      g_ptr_array_sort (op->selected, compare_entries_by_id);
    }
  return TRUE;
}

/* Load: matching the blob's entries to the selected helpers */

/* Puts in @targets the selected helper of each entry of op->blob, in the
 * blob's order. Every entry must belong to a selected helper, and every
 * required helper must have an entry; if not, fails the operation and
 * returns FALSE. */
gboolean
_vmstate_discovery_match_blob (VmstateOp *op,
                               GPtrArray *targets)
{
  g_auto(GStrv) ids = NULL;
  g_autoptr(GString) unknown = g_string_new (NULL);
  g_autoptr(GString) lacking = g_string_new (NULL);
  guint n_unknown = 0, n_lacking = 0;

  /* Every entry must belong to a selected helper... */
  ids = vmstate_blob_get_ids (op->blob);
  for (guint i = 0; ids[i] != NULL; i++)
    {
      VmstateEntry *entry = NULL;

      for (guint j = 0; j < op->selected->len && entry == NULL; j++)
        if (g_str_equal (((VmstateEntry *) g_ptr_array_index (op->selected, j))->id, ids[i]))
          entry = g_ptr_array_index (op->selected, j);

      if (entry != NULL)
        g_ptr_array_add (targets, entry);
      else
        append_id (unknown, &n_unknown, ids[i]);
    }

  /* ...and every required helper must have an entry. */
  for (guint i = 0; op->required_ids != NULL && op->required_ids[i] != NULL; i++)
    {
      if (!vmstate_blob_contains (op->blob, op->required_ids[i]))
        append_id (lacking, &n_lacking, op->required_ids[i]);
    }

  if (n_unknown > 0)
    {
      g_autofree char *present = join_ids (op->selected);

      op->error = g_error_new (VMSTATE_ERROR, VMSTATE_ERROR_MISSING_HELPER,
                               "the blob holds state for %s, but no %shelper%s on "
                               "the bus (present: %s); no helper was loaded",
                               unknown->str, op->required_ids ? "required " : "",
                               n_unknown == 1 ? " with that Id is" : "s with those Ids are",
                               present);
      _vmstate_op_fail (op);
      return FALSE;
    }
  if (n_lacking > 0)
    {
      op->error = g_error_new (VMSTATE_ERROR, VMSTATE_ERROR_MISSING_STATE,
                               "the blob has no state for the required helper%s %s; "
                               "no helper was loaded",
                               n_lacking == 1 ? "" : "s", lacking->str);
      _vmstate_op_fail (op);
      return FALSE;
    }

  return TRUE;
}

