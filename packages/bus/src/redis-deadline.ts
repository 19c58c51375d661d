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
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new RedisTimeoutError(what, timeoutMs)), timeoutMs);
    pending.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
