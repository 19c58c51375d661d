/** Redis did not answer a command in time: it may be hung, or the network silently gone. */
export class RedisTimeoutError extends Error {
  readonly code = "redis_timeout";
  constructor(what: string, timeoutMs: number) {
    super(`${what}: Redis did not answer within ${timeoutMs} ms`);
    this.name = "RedisTimeoutError";
  }
}

/**
 * `pending`, or a {@link RedisTimeoutError} after `timeoutMs`, whichever comes first. The
 * link's own timer, so that a timeout is known by its type (ioredis's is a plain Error).
 */
export function withDeadline<T>(pending: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  return race(pending, timeoutMs, () => new RedisTimeoutError(what, timeoutMs));
}

/**
 * `pending`, or a rejection with `late()` after `ms`, whichever comes first; a rejection of
 * `pending` goes through `failed` (default: as it is).
 */
export function race<T>(
  pending: Promise<T>,
  ms: number,
  late: () => Error,
  failed: (err: unknown) => unknown = same,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(late()), ms);
    pending.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(failed(err));
      },
    );
  });
}

function same(err: unknown): unknown {
  return err;
}
