/** Wait `seconds`; an abort of `signal` ends the wait with the signal's reason.
 *
 * @deprecated Moved to `@infra/connector-utils` (`sleep`), the shared connector pipeline; removed from `@infra/core` in its next major.
 */
export function sleep(seconds: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  if (seconds <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, seconds * 1000);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * One signal for "the caller aborted or `timeout` seconds passed" (a `TimeoutError`
 * reason for the latter); undefined when there is neither.

 *
 * @deprecated Moved to `@infra/connector-utils` (`timeoutSignal`), the shared connector pipeline; removed from `@infra/core` in its next major.
 */
export function timeoutSignal(options: {
  timeout?: number | undefined;
  signal?: AbortSignal | undefined;
}): AbortSignal | undefined {
  const timeout =
    options.timeout !== undefined && options.timeout > 0
      ? AbortSignal.timeout(options.timeout * 1000)
      : undefined;
  if (timeout && options.signal) return AbortSignal.any([timeout, options.signal]);
  return timeout ?? options.signal;
}
