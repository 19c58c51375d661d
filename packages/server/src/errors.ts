import type { ApiErrorCode } from "@rocket/protocol";

/** Codes of errors raised by this client itself, beside the API's. */
export const ClientErrorCode = {
  /** No answer within `timeoutMs`, or the connection failed: the outcome is unknown (a publish may have gone out). */
  Network: "network",
  /** An answer that is not the API's JSON (a proxy's error page, say). */
  BadResponse: "bad_response",
} as const;
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

/**
 * A call the gateway refused (`code` is the API's error code, `status` the HTTP status) or
 * that did not get an answer. `unavailable` and `network` mean "outcome unknown": the
 * cluster may have accepted a publish, so retrying it may deliver it twice.
 */
export class RocketApiError extends Error {
  constructor(
    readonly code: ApiErrorCode | ClientErrorCode,
    readonly status: number | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "RocketApiError";
  }
}
