export { ADMIN_DEFAULTS, type AdminApi, type AdminApiOptions, MAX_BODY_BYTES, startAdminApi } from './admin-api.ts';
export { type ApplyOutcome, type ApplyResult, applyOne, applyResources, findDuplicates } from './apply.ts';
export {
  AdminAlreadyExistsError,
  AdminBadRequestError,
  AdminBadTargetError,
  AdminBodyTooLargeError,
  AdminForbiddenOriginError,
  AdminInternalError,
  AdminMalformedRequestError,
  AdminMethodNotAllowedError,
  AdminMisdirectedError,
  AdminNotFoundError,
  AdminOptionsError,
  AdminProxiedError,
  AdminUnsupportedMediaTypeError,
} from './errors.ts';
export { WRITE_MEDIA_TYPES } from './request-guards.ts';
export { parseRequestTarget, type RequestTarget } from './request-target.ts';
export { type AdminApiServiceOptions, adminApiService, type RunningAdminApi } from './service.ts';
