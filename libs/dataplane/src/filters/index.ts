/** The Route filters the data plane knows, by Gateway API `type`. A new filter is one folder and one line here. */
import type { RouteFilter } from '@portico/config';
import { cors } from './cors/index.ts';
import type { FilterModule } from './filter.ts';
import { requestHeaderModifier } from './request-header-modifier/index.ts';
import { requestMirror } from './request-mirror/index.ts';
import { requestRedirect } from './request-redirect/index.ts';
import { responseHeaderModifier } from './response-header-modifier/index.ts';
import { urlRewrite } from './url-rewrite/index.ts';

export const FILTERS: { readonly [T in RouteFilter['type']]: FilterModule<T> } = {
  RequestHeaderModifier: requestHeaderModifier,
  ResponseHeaderModifier: responseHeaderModifier,
  RequestRedirect: requestRedirect,
  URLRewrite: urlRewrite,
  RequestMirror: requestMirror,
  CORS: cors,
};
