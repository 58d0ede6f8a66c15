export { type AdminApi, type AdminApiOptions, MAX_BODY_BYTES, startAdminApi } from './admin-api.ts';
export { type ApplyOutcome, type ApplyResult, applyOne, applyResources, findDuplicates } from './apply.ts';
export {
  AdminAlreadyExistsError,
  AdminBadRequestError,
  AdminBodyTooLargeError,
  AdminInternalError,
  AdminMethodNotAllowedError,
  AdminNotFoundError,
  AdminOptionsError,
} from './errors.ts';
