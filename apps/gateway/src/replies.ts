import { ErrorCode, errorCodes, type Reply } from "@rocket/protocol";

/**
 * A successful reply with more than `ok` (a position, publications), encoded by the protocol
 * package; counted as "ok".
 */
export interface EncodedReply {
  readonly encoded: string | Uint8Array;
}

/** Anything the outbox sends as the answer to a request. */
export type AnyReply = Reply | EncodedReply;

/** Wraps an encoded successful reply. */
export function encoded(text: string | Uint8Array): EncodedReply {
  return { encoded: text };
}

/** `{"ok":true}` as a value. */
export const ok: Reply = Object.freeze({ ok: true });

const failures = new Map<ErrorCode, Reply>(errorCodes.map((code) => [code, Object.freeze({ err: code })]));

/** `{"err":code}` as a value, built once per code. */
export function failure(code: ErrorCode): Reply {
  return failures.get(code) ?? { err: code };
}

export const accessDenied = failure(ErrorCode.AccessDenied);
export const invalidChannel = failure(ErrorCode.InvalidChannel);
export const unavailable = failure(ErrorCode.Unavailable);

/** The metric label of a reply: "ok" or its error code. */
export function replyCode(reply: AnyReply): string {
  return "err" in reply ? reply.err : "ok";
}
