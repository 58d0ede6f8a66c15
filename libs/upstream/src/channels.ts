import diagnostics from 'node:diagnostics_channel';

/** { cluster, endpoint, reason: '5xx' | 'connect', consecutive, ejectionMs, ejections } */
export const CHANNEL_EJECTED = 'portico:upstream:ejected';
/** { cluster, endpoint } */
export const CHANNEL_UNEJECT = 'portico:upstream:uneject';
/** { cluster, endpoint, healthy, status?, error? } on every health change from active checks. */
export const CHANNEL_HEALTH = 'portico:upstream:health';
/** { cluster, endpoint, error } when an endpoint cannot be connected to. */
export const CHANNEL_CONNECT_ERROR = 'portico:upstream:connect-error';
/** { cluster, panic } when every endpoint is unhealthy or ejected (panic: true) and when that ends. */
export const CHANNEL_PANIC = 'portico:upstream:panic';

export const ejectedChannel = diagnostics.channel(CHANNEL_EJECTED);
export const unejectChannel = diagnostics.channel(CHANNEL_UNEJECT);
export const healthChannel = diagnostics.channel(CHANNEL_HEALTH);
export const connectErrorChannel = diagnostics.channel(CHANNEL_CONNECT_ERROR);
export const panicChannel = diagnostics.channel(CHANNEL_PANIC);
