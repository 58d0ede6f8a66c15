/**
 * The one wait-until of the test suites: polls `check` until it returns something other than false/undefined
 * (that value is returned), and fails naming `what` and the time waited. A check that throws fails at once:
 * a broken probe is a defect, not a condition to wait out.
 */
export interface WaitOptions {
  /** Default 5 s. */
  timeoutMs?: number;
  /** Pause between checks. Default 20 ms. */
  everyMs?: number;
}

export async function waitUntil<T>(
  what: string,
  check: () => T | false | undefined | Promise<T | false | undefined>,
  { timeoutMs = 5_000, everyMs = 20 }: WaitOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== false && value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
