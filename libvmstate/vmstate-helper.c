/* vmstate-helper.c: a helper found on the bus
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/**
 * VmstateHelper:
 *
 * A helper that [method@Vmstate.Collector.list_helpers_async] found on the bus
 * (or that an operation failed because of, see
 * [method@Vmstate.Collector.get_failed_helpers]): its Id, the unique bus
 * name every call is addressed to, and its process id when the bus daemon
 * tells it.
 *
 * Since: 1.0
 */

#include "config.h"

#include <string.h>

#include "vmstate-helper-private.h"
#include "vmstate-util-private.h"

struct _VmstateHelper
{
  GObject  parent_instance;
  char    *id;
  char    *unique_name;
  guint    pid;
};

enum {
  PROP_0,
  PROP_ID,
  PROP_UNIQUE_NAME,
  PROP_PID,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (VmstateHelper, vmstate_helper, G_TYPE_OBJECT)

static void
vmstate_helper_finalize (GObject *object)
{
  VmstateHelper *self = VMSTATE_HELPER (object);

  g_free (self->id);
  g_free (self->unique_name);

  G_OBJECT_CLASS (vmstate_helper_parent_class)->finalize (object);
}

static void
vmstate_helper_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  VmstateHelper *self = VMSTATE_HELPER (object);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_string (value, self->id);
      break;
    case PROP_UNIQUE_NAME:
      g_value_set_string (value, self->unique_name);
      break;
    case PROP_PID:
      g_value_set_uint (value, self->pid);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
vmstate_helper_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  VmstateHelper *self = VMSTATE_HELPER (object);

  switch (prop_id)
    {
    case PROP_ID:
      self->id = g_value_dup_string (value);
      break;
    case PROP_UNIQUE_NAME:
      self->unique_name = g_value_dup_string (value);
      break;
    case PROP_PID:
      self->pid = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
vmstate_helper_class_init (VmstateHelperClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = vmstate_helper_finalize;
  object_class->get_property = vmstate_helper_get_property;
  object_class->set_property = vmstate_helper_set_property;

  /**
   * VmstateHelper:id:
   *
   * The helper's `Id` property, whole; %NULL only for a helper of
   * [method@Vmstate.Collector.get_failed_helpers] whose Id could not be
   * read (or was not a string).
   *
   * Since: 1.0
   */
  properties[PROP_ID] =
    g_param_spec_string ("id", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                         G_PARAM_STATIC_STRINGS);

  /**
   * VmstateHelper:unique-name:
   *
   * The helper's unique bus name, such as `:1.5`.
   *
   * Since: 1.0
   */
  properties[PROP_UNIQUE_NAME] =
    g_param_spec_string ("unique-name", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                         G_PARAM_STATIC_STRINGS);

  /**
   * VmstateHelper:pid:
   *
   * The helper's process id, or 0 when the bus did not tell it.
   *
   * Since: 1.0
   */
  properties[PROP_PID] =
    g_param_spec_uint ("pid", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                       G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
vmstate_helper_init (VmstateHelper *self)
{
}

VmstateHelper *
_vmstate_helper_new (const char *id,
                     const char *unique_name,
                     guint       pid)
{
  return g_object_new (VMSTATE_TYPE_HELPER,
                       "id", id,
                       "unique-name", unique_name,
                       "pid", pid,
                       NULL);
}

/**
 * vmstate_helper_get_id:
 * @self: a #VmstateHelper
 *
 * Gets the helper's Id.
 *
 * Returns: (nullable): the Id; %NULL only for a helper of
 *   [method@Vmstate.Collector.get_failed_helpers] whose Id could not be
 *   read
 *
 * Since: 1.0
 */
const char *
vmstate_helper_get_id (VmstateHelper *self)
{
  g_return_val_if_fail (VMSTATE_IS_HELPER (self), NULL);

  return self->id;
}

/**
 * vmstate_helper_get_unique_name:
 * @self: a #VmstateHelper
 *
 * Gets the helper's unique bus name.
 *
 * Returns: the unique name, such as `:1.5`
 *
 * Since: 1.0
 */
const char *
vmstate_helper_get_unique_name (VmstateHelper *self)
{
  g_return_val_if_fail (VMSTATE_IS_HELPER (self), NULL);

  return self->unique_name;
}

/**
 * vmstate_helper_get_pid:
 * @self: a #VmstateHelper
 *
 * Gets the helper's process id, as the bus daemon reported it.
 *
 * Returns: the process id, or 0 if unknown
 *
 * Since: 1.0
 */
guint
vmstate_helper_get_pid (VmstateHelper *self)
{
  g_return_val_if_fail (VMSTATE_IS_HELPER (self), 0);

  return self->pid;
}

/**
 * vmstate_id_is_valid:
 * @id: a helper's Id
 * @error: return location for a #GError
 *
 * Checks @id against the contract every helper's `Id` property follows,
 * libvmstate's and QEMU's: 1 to 255 bytes of UTF-8. A tool or a helper
 * that takes an Id from its user can check it before it reaches the bus,
 * with the same words the library uses.
 *
 * Returns: %TRUE if @id is a valid Id; %FALSE with @error set to
 *   %VMSTATE_ERROR_INVALID_ID, which says what is wrong, otherwise
 *
 * Since: 1.0
 */
gboolean
vmstate_id_is_valid (const char  *id,
                     GError     **error)
{
  g_return_val_if_fail (id != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return _vmstate_check_id (id, strlen (id), error);
}
