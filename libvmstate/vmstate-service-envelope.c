/* vmstate-service-envelope.c: a VmstateService's states in envelopes
 * (issue 13)
 *
 * The properties that say how (state-version, min-state-version,
 * compress, max-uncompressed-size), the version being loaded, and the
 * wrapping and unwrapping that vmstate-service-calls.c does around the
 * save and load vfuncs. The envelope itself is vmstate-envelope.c.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "vmstate-envelope-private.h"
#include "vmstate-error.h"
#include "vmstate-service.h"
#include "vmstate-service-private.h"

/**
 * vmstate_service_get_state_version: (get-property state-version)
 * @self: a #VmstateService
 *
 * Gets the version of the helper's state format, 0 for a raw state.
 *
 * Returns: the state version
 *
 * Since: 1.0
 */
guint
vmstate_service_get_state_version (VmstateService *self)
{
  VmstateServicePrivate *priv;

  g_return_val_if_fail (VMSTATE_IS_SERVICE (self), 0);

  priv = _vmstate_service_get_private (self);
  return priv->state_version;
}

/**
 * vmstate_service_set_state_version: (set-property state-version)
 * @self: a #VmstateService
 * @state_version: the version of the state format, 0 for a raw state
 *
 * Sets the version of the helper's state format: with 1 or more, states
 * travel in an envelope (see [property@Vmstate.Service:state-version]).
 *
 * Since: 1.0
 */
void
vmstate_service_set_state_version (VmstateService *self,
                                   guint           state_version)
{
  VmstateServicePrivate *priv;

  g_return_if_fail (VMSTATE_IS_SERVICE (self));

  priv = _vmstate_service_get_private (self);
  _vmstate_service_set_uint (self, &priv->state_version, state_version,
                             SERVICE_PROP_STATE_VERSION);
}

/**
 * vmstate_service_get_min_state_version: (get-property min-state-version)
 * @self: a #VmstateService
 *
 * Gets the oldest state version a Load accepts.
 *
 * Returns: the oldest accepted version
 *
 * Since: 1.0
 */
guint
vmstate_service_get_min_state_version (VmstateService *self)
{
  VmstateServicePrivate *priv;

  g_return_val_if_fail (VMSTATE_IS_SERVICE (self), 0);

  priv = _vmstate_service_get_private (self);
  return priv->min_state_version;
}

/**
 * vmstate_service_set_min_state_version: (set-property min-state-version)
 * @self: a #VmstateService
 * @min_state_version: the oldest state version to accept; 0 also accepts
 *   raw states
 *
 * Sets the oldest state version a Load accepts (see
 * [property@Vmstate.Service:min-state-version]).
 *
 * Since: 1.0
 */
void
vmstate_service_set_min_state_version (VmstateService *self,
                                       guint           min_state_version)
{
  VmstateServicePrivate *priv;

  g_return_if_fail (VMSTATE_IS_SERVICE (self));

  priv = _vmstate_service_get_private (self);
  _vmstate_service_set_uint (self, &priv->min_state_version, min_state_version,
                             SERVICE_PROP_MIN_STATE_VERSION);
}

/**
 * vmstate_service_get_compress: (get-property compress)
 * @self: a #VmstateService
 *
 * Gets whether Save compresses states in envelopes.
 *
 * Returns: %TRUE if Save compresses
 *
 * Since: 1.0
 */
gboolean
vmstate_service_get_compress (VmstateService *self)
{
  VmstateServicePrivate *priv;

  g_return_val_if_fail (VMSTATE_IS_SERVICE (self), FALSE);

  priv = _vmstate_service_get_private (self);
  return priv->compress;
}

/**
 * vmstate_service_set_compress: (set-property compress)
 * @self: a #VmstateService
 * @compress: whether to compress
 *
 * Sets whether Save compresses states in envelopes with zstd (see
 * [property@Vmstate.Service:compress]).
 *
 * Since: 1.0
 */
void
vmstate_service_set_compress (VmstateService *self,
                              gboolean        compress)
{
  VmstateServicePrivate *priv;

  g_return_if_fail (VMSTATE_IS_SERVICE (self));

  priv = _vmstate_service_get_private (self);
  compress = !!compress;
  if (priv->compress == compress)
    return;
  priv->compress = compress;
  _vmstate_service_notify (self, SERVICE_PROP_COMPRESS);
}

/**
 * vmstate_service_get_max_uncompressed_size: (get-property max-uncompressed-size)
 * @self: a #VmstateService
 *
 * Gets the largest state, uncompressed, that Save sends or a Load
 * inflates to when states travel in envelopes.
 *
 * Returns: the size in bytes
 *
 * Since: 1.0
 */
guint
vmstate_service_get_max_uncompressed_size (VmstateService *self)
{
  VmstateServicePrivate *priv;

  g_return_val_if_fail (VMSTATE_IS_SERVICE (self), 0);

  priv = _vmstate_service_get_private (self);
  return priv->max_uncompressed_size;
}

/**
 * vmstate_service_set_max_uncompressed_size: (set-property max-uncompressed-size)
 * @self: a #VmstateService
 * @max_uncompressed_size: the size in bytes
 *
 * Sets the largest state, uncompressed, that Save sends or a Load
 * inflates to (see [property@Vmstate.Service:max-uncompressed-size]).
 *
 * Since: 1.0
 */
void
vmstate_service_set_max_uncompressed_size (VmstateService *self,
                                           guint           max_uncompressed_size)
{
  VmstateServicePrivate *priv;

  g_return_if_fail (VMSTATE_IS_SERVICE (self));

  priv = _vmstate_service_get_private (self);
  _vmstate_service_set_uint (self, &priv->max_uncompressed_size, max_uncompressed_size,
                             SERVICE_PROP_MAX_UNCOMPRESSED_SIZE);
}

/**
 * vmstate_service_get_loading_version:
 * @self: a #VmstateService
 *
 * Gets the version of the state being loaded, so that
 * [vfunc@Vmstate.Service.load] can convert an older format.
 *
 * It is valid while the service calls [vfunc@Vmstate.Service.load] or
 * [vfunc@Vmstate.Service.load_async] for a `Load` call (an asynchronous
 * implementation reads it before it returns): the version in the
 * envelope of the state, or 0 for a raw state (with
 * [property@Vmstate.Service:state-version] 0, or
 * [property@Vmstate.Service:min-state-version] 0 and a state from before
 * envelopes). It is 0 at any other time.
 *
 * ```python
 * def do_load(self, state):
 *     if self.get_loading_version() == 1:
 *         state = upgrade_v1_to_v2(state)
 *     ...
 * ```
 *
 * Returns: the version of the state being loaded
 *
 * Since: 1.0
 */
guint
vmstate_service_get_loading_version (VmstateService *self)
{
  VmstateServicePrivate *priv;

  g_return_val_if_fail (VMSTATE_IS_SERVICE (self), 0);

  priv = _vmstate_service_get_private (self);
  return priv->loading_version;
}

static VmstateEnvelopeRules
envelope_rules (VmstateService *self)
{
  VmstateServicePrivate *priv = _vmstate_service_get_private (self);

  return (VmstateEnvelopeRules) {
    .state_version = priv->state_version,
    .min_state_version = priv->min_state_version,
    .compress = priv->compress,
    .max_uncompressed_size = priv->max_uncompressed_size,
    .id = priv->id,
    .unique_name = _vmstate_service_bus_name (self),
  };
}

/* Wraps the state @raw, which save returned, for a Save reply: NULL
 * with @error set if it cannot be, or if the envelope is larger than
 * max-state-size. */
GBytes *
_vmstate_service_wrap_state (VmstateService  *self,
                             GBytes          *raw,
                             GError         **error)
{
  VmstateServicePrivate *priv = _vmstate_service_get_private (self);
  VmstateEnvelopeRules rules = envelope_rules (self);
  GBytes *state;

  state = _vmstate_envelope_wrap_for_service (raw, &rules, error);
  if (state != NULL && g_bytes_get_size (state) > priv->max_state_size)
    {
      g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_STATE_TOO_LARGE,
                   "helper '%s' has a state of %" G_GSIZE_FORMAT " bytes, %s"
                   " to %" G_GSIZE_FORMAT " bytes, more than its max-state-size"
                   " of %u bytes; refusing to send a truncated state",
                   priv->id, g_bytes_get_size (raw),
                   priv->compress ? "compressed and enveloped" : "enveloped",
                   g_bytes_get_size (state), priv->max_state_size);
      g_clear_pointer (&state, g_bytes_unref);
    }
  return state;
}

/* Checks and unwraps the state @wrapped that a Load brought, and gives
 * its version: NULL with @error set if it is not acceptable. */
GBytes *
_vmstate_service_unwrap_state (VmstateService  *self,
                               GBytes          *wrapped,
                               guint           *version,
                               GError         **error)
{
  VmstateEnvelopeRules rules = envelope_rules (self);

  return _vmstate_envelope_unwrap_for_service (wrapped, &rules, version, error);
}
