import { createHash } from "node:crypto";
import type { Cluster, Redis } from "ioredis";
import type { PositionFormat, StreamPosition } from "./bus.js";
import { withDeadline } from "./redis-deadline.js";

/**
 * Publishes one message of a topic with history, atomically: reads or starts the epoch (a
 * new epoch deletes any stream left from an older one), takes the next offset, builds the
 * delivered frame from the gateway's head and the position pieces, stores the whole
 * envelope in the stream under the id `<offset>-0` (exact MAXLEN), renews both keys'
 * expiry and publishes the envelope. Redis runs a script alone, so the stored order is the
 * published order.
 *
 * What is the same on every call (the pieces, Size, the expiry, the publish command) is
 * written into the script, one script per combination (in practice one per history rule),
 * so each call passes only what changes: every argument costs the gateway time to encode.
 *
 * KEYS: meta, stream. ARGV: pub/sub channel, epoch to start with, 8-byte stamp, frame head.
 */
function publishLua(publishCommand: string, format: PositionFormat, size: number, ttlMs: number): string {
  // Decimal escapes: any bytes, safe inside a Lua string literal.
  const text = (value: string) => `"${[...Buffer.from(value, "utf8")].map((b) => `\\${b}`).join("")}"`;
  const integer = (n: number) => `"${Math.trunc(n)}"`;
  return `
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  epoch = ARGV[2]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'offset', 0)
end
local offset = redis.call('HINCRBY', KEYS[1], 'offset', 1)
local n = string.format('%d', offset)
local payload = ARGV[3] .. '\\001' .. struct.pack('<d', offset) .. string.char(#epoch) .. epoch
  .. ARGV[4] .. ${text(format.offset)} .. n .. ${text(format.epoch)} .. epoch .. ${text(format.end)}
redis.call('XADD', KEYS[2], 'MAXLEN', ${integer(size)}, n .. '-0', 'p', payload)
redis.call('PEXPIRE', KEYS[1], ${integer(ttlMs)})
redis.call('PEXPIRE', KEYS[2], ${integer(ttlMs)})
redis.call('${publishCommand}', ARGV[1], payload)
return {offset, epoch}
`;
}

/** A publish script's text, its SHA1 (what EVALSHA names it by), and whether Redis has it. */
interface PublishScript {
  readonly lua: string;
  readonly sha: string;
  /** SCRIPT LOAD went through on every master since the last restore. */
  loaded: boolean;
  /** The SCRIPT LOAD under way; publishes wait for it, in order. Never rejects. */
  loading: Promise<void> | undefined;
}

/**
 * Reads a topic's history position and kept messages in one consistent step: the epoch and
 * offset, the offset of the oldest message kept, and up to `count` envelopes either after
 * an offset (oldest first) or the newest ones (newest first). Starts a history (epoch
 * ARGV[4], offset 0, expiring after ARGV[5] ms) when there is none and ARGV[4] is not empty.
 *
 * KEYS: meta, stream. ARGV: "after" or "last", after-offset, count, epoch to start with, ttl ms.
 */
const readLua = `
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  if ARGV[4] == '' then return {false, 0, 0, {}} end
  epoch = ARGV[4]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'offset', 0)
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
end
local offset = tonumber(redis.call('HGET', KEYS[1], 'offset'))
local first = offset + 1
local oldest = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)
if #oldest > 0 then first = tonumber(string.match(oldest[1][1], '^(%d+)')) end
local entries = {}
if tonumber(ARGV[3]) > 0 then
  if ARGV[1] == 'last' then
    entries = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', ARGV[3])
  else
    entries = redis.call('XRANGE', KEYS[2], string.format('%d', tonumber(ARGV[2]) + 1) .. '-0', '+', 'COUNT', ARGV[3])
  end
end
return {epoch, offset, first, entries}
`;

/** The Redis names of one topic with history. */
export interface HistoryKeys {
  readonly meta: string;
  readonly stream: string;
  /** Its pub/sub channel. */
  readonly channel: string;
}

/** One envelope read from a stream (see redis-envelope.ts), with the offset of its id. */
export interface StoredEnvelope {
  readonly offset: number;
  readonly payload: Buffer;
}

/** What the read script returns. */
export interface StoredRange {
  /** Undefined when the topic has no history (none started, expired, or Redis lost it). */
  readonly epoch: string | undefined;
  readonly offset: number;
  /** Offset of the oldest message kept (offset + 1 when none is). */
  readonly first: number;
  /** Oldest first. */
  readonly entries: StoredEnvelope[];
}

export interface ReadRequest {
  /** Messages after `after`, or the newest ones. */
  readonly mode: "after" | "last";
  readonly after: number;
  readonly count: number;
  /** Start a history with this epoch when there is none; `undefined` leaves Redis untouched. */
  readonly start: { readonly epoch: string; readonly ttlMs: number } | undefined;
}

export interface PublishRequest {
  readonly size: number;
  readonly ttlMs: number;
  /** Epoch to start with when the topic has no history. */
  readonly epoch: string;
  readonly stamp: Buffer;
  readonly head: Uint8Array;
  /** The pieces that complete the head with the position. */
  readonly format: PositionFormat;
}

/** The history scripts on one command connection (a single Redis or a Cluster). */
export interface HistoryScripts {
  publish(keys: HistoryKeys, request: PublishRequest): Promise<StreamPosition>;
  read(keys: HistoryKeys, request: ReadRequest): Promise<StoredRange>;
  /** The position in the meta hash (one HMGET); undefined when the topic has no history. */
  position(keys: HistoryKeys): Promise<StreamPosition | undefined>;
  /** Loads every publish script made so far again (a restore: Redis may have restarted without them). */
  reload(): Promise<void>;
}

type ScriptClient = {
  rocketHistoryReadBuffer(...args: (string | number)[]): Promise<[Buffer | null, number, number, [Buffer, Buffer[]][]]>;
};

/**
 * The history scripts on `cmd`. A publish is an EVALSHA of its own (on the hot path,
 * without ioredis's script wrapper). Each publish script is loaded with SCRIPT LOAD on every
 * master before its first use (publishes wait for it, in order) and again on every restore,
 * so that EVALSHA finds it: were one publish answered NOSCRIPT and sent again as EVAL, a
 * later publish could overtake it. Should Redis still answer NOSCRIPT (SCRIPT FLUSH while
 * running) the script ran nothing and the call goes again as EVAL, which also loads it.
 * The read script is an ioredis script command (EVALSHA, EVAL when needed), defined here,
 * once: ioredis copies a client's scripts into each auto-pipeline it starts, so one defined
 * later would be missing from a pipeline under way. On a Cluster the first key routes the
 * call; the keys and the channel share one hash tag, so everything a script touches is on
 * that shard.
 */
export function defineHistoryScripts(
  cmd: Redis | Cluster,
  publishCommand: "PUBLISH" | "SPUBLISH",
  timeoutMs: number,
  /** SCRIPT LOAD on every master. */
  loadEverywhere: (lua: string) => Promise<unknown>,
): HistoryScripts {
  cmd.defineCommand("rocketHistoryRead", { numberOfKeys: 2, lua: readLua });
  const scripts = cmd as unknown as ScriptClient;
  /** Publish scripts by their pieces, then by `size:ttlMs`. */
  const publishScripts = new WeakMap<PositionFormat, Map<string, PublishScript>>();
  const made = new Set<PublishScript>();
  const load = (script: PublishScript): Promise<void> => {
    script.loading ??= withDeadline(loadEverywhere(script.lua), timeoutMs, "SCRIPT LOAD").then(
      () => {
        script.loaded = true;
        script.loading = undefined;
      },
      () => {
        // Sent all the same: EVALSHA, then EVAL if Redis does not have it.
        script.loading = undefined;
      },
    );
    return script.loading;
  };
  const publishScript = (format: PositionFormat, size: number, ttlMs: number): PublishScript => {
    let bySettings = publishScripts.get(format);
    if (bySettings === undefined) {
      bySettings = new Map();
      publishScripts.set(format, bySettings);
    }
    const id = `${size}:${ttlMs}`;
    let script = bySettings.get(id);
    if (script === undefined) {
      const lua = publishLua(publishCommand, format, size, ttlMs);
      script = { lua, sha: createHash("sha1").update(lua).digest("hex"), loaded: false, loading: undefined };
      bySettings.set(id, script);
      made.add(script);
    }
    return script;
  };
  return {
    async publish(keys, r) {
      const script = publishScript(r.format, r.size, r.ttlMs);
      const args = [keys.meta, keys.stream, keys.channel, r.epoch, r.stamp, r.head] as (string | Buffer)[];
      const send = () =>
        cmd.evalsha(script.sha, 2, ...args).catch((err: unknown) => {
          if (!(err instanceof Error) || !err.message.startsWith("NOSCRIPT")) throw err;
          return cmd.eval(script.lua, 2, ...args);
        }) as Promise<[number, string]>;
      const sent = script.loaded ? send() : load(script).then(send);
      const [offset, epoch] = await withDeadline(sent, timeoutMs, "history publish");
      return { offset: Number(offset), epoch: String(epoch) };
    },
    async reload() {
      await Promise.all(
        [...made].map((script) => {
          script.loaded = false;
          return load(script);
        }),
      );
    },
    async position(keys) {
      const [epoch, offset] = await withDeadline(cmd.hmget(keys.meta, "epoch", "offset"), timeoutMs, "HMGET");
      return epoch === null || epoch === undefined ? undefined : { epoch, offset: Number(offset ?? 0) };
    },
    async read(keys, r) {
      const [epoch, offset, first, raw] = await withDeadline(
        scripts.rocketHistoryReadBuffer(
          keys.meta,
          keys.stream,
          r.mode,
          r.after,
          r.count,
          r.start?.epoch ?? "",
          r.start?.ttlMs ?? 0,
        ),
        timeoutMs,
        "history read",
      );
      const entries = raw.map(([id, fields]) => ({
        offset: Number.parseInt(id.toString("latin1"), 10),
        payload: fields[1] ?? Buffer.alloc(0),
      }));
      if (r.mode === "last") entries.reverse();
      return {
        epoch: epoch === null ? undefined : epoch.toString("latin1"),
        offset: Number(offset),
        first: Number(first),
        entries,
      };
    },
  };
}
