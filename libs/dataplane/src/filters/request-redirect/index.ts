/** RequestRedirect: answers with a Location built from the request and the filter (no backend is called). */
import type { FilterModule } from '../filter.ts';
import { redirectLocation } from './location.ts';

export const requestRedirect: FilterModule<'RequestRedirect'> = {
  type: 'RequestRedirect',
  compile(filter) {
    const spec = filter.requestRedirect;
    return {
      request(ex) {
        const { target, host, match } = ex.resolved;
        const location = redirectLocation(spec, {
          scheme: ex.listener.scheme,
          host,
          port: ex.listener.port,
          path: target.path,
          query: target.query,
          matchedPrefix: match.matchedPrefix,
        });
        ex.respond(spec.statusCode, { location, 'content-length': '0' });
        return true;
      },
    };
  },
};
