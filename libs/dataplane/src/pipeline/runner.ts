/**
 * The one runner of the pipeline's phases. The request phase is synchronous until a hook returns a promise; only
 * then does the rest of it wait, so a rule without async policies never touches the microtask queue.
 */
import type { HeaderMap } from '../forwarding.ts';
import type { ExchangeView, ForwardRequest, PhaseLists, Verdict } from './phases.ts';

/**
 * Runs request hooks from `from` on. Returns true when a hook answered, false when all let the request through,
 * or a promise of either when a hook is async (a rejected promise is the caller's 500).
 */
export function runRequestPhase(phases: PhaseLists, ex: ExchangeView, from = 0): boolean | Promise<boolean> {
  const hooks = phases.request;
  for (let i = from; i < hooks.length; i++) {
    const verdict: Verdict = hooks[i]!(ex);
    if (verdict === true) return true;
    if (verdict !== undefined && verdict !== false)
      return verdict.then((answered) => (answered === true ? true : runRequestPhase(phases, ex, i + 1)));
  }
  return false;
}

export function runForwardPhase(phases: PhaseLists, fwd: ForwardRequest, ex: ExchangeView): void {
  const hooks = phases.forward;
  for (let i = 0; i < hooks.length; i++) hooks[i]!(fwd, ex);
}

export function runResponsePhase(phases: PhaseLists, headers: HeaderMap, ex: ExchangeView): void {
  const hooks = phases.response;
  for (let i = 0; i < hooks.length; i++) hooks[i]!(headers, ex);
}
