import { expect } from "vitest";
import { type Delivery, type GatewayProc, until } from "../harness/index.js";
import { must } from "../harness/must.js";
import { type ContinuousPublisher, ok, type Sent } from "./helpers.js";

/** The reply to a publish the bus could not confirm. */
export const unavailable = '{"err":"unavailable"}';

/** A subscriber an audit checks: it must stay connected for the whole test. */
export interface Watched {
  readonly name: string;
  readonly client: { readonly deliveries: readonly Pick<Delivery, "channel" | "data">[]; readonly isOpen: boolean };
}

/**
 * A documented exception: why the acknowledged message `s` may be missing at `subscriber`
 * (a short reason, counted in the report), or undefined when it must have arrived.
 */
export type Excuse = (s: Sent, subscriber: string) => string | undefined;

/** What a fault did to the messages, counted. */
export interface AuditReport {
  readonly published: number;
  readonly acked: number;
  /** Publishes answered `unavailable`: "outcome unknown", counted and reported. */
  readonly unavailable: number;
  /** Of those, how many arrived anyway (allowed: the outcome was unknown). */
  readonly unavailableDelivered: number;
  /** Replies other than ok and unavailable (none expected). */
  readonly otherReplies: string[];
  /** Acknowledged messages missing at a subscriber under a documented exception, by reason. */
  readonly excused: Record<string, number>;
  /** Acknowledged messages missing at a subscriber without excuse: broken promises. */
  readonly lost: string[];
  readonly duplicates: string[];
  /** A publisher's messages out of the order it sent them in. */
  readonly reordered: string[];
  /** Subscribers of one channel that saw their common messages in different orders. */
  readonly divergent: string[];
  /** Deliveries of messages nobody published. */
  readonly unknown: string[];
}

interface Tag {
  readonly p: string;
  readonly i: number;
}
const key = (t: Tag) => `${t.p}:${t.i}`;
const markerIndex = -1;

/**
 * Stops the publishers, then has each publish one marker on its channel and waits until
 * every subscriber received every marker. Redis orders each channel, so once a marker
 * arrived everything published before it had its chance to arrive, and a late duplicate
 * would have come before it.
 */
export async function stopAndFlush(
  publishers: readonly ContinuousPublisher[],
  subscribers: readonly Watched[],
  timeoutMs = 10_000,
): Promise<void> {
  await Promise.all(publishers.map((p) => p.stop()));
  for (const p of publishers) {
    // Right after a fault the first tries may still be refused ("unavailable"); a marker
    // must be acknowledged to prove anything.
    await until(
      async () => JSON.stringify(await p.client.publish(p.channel, "m", { p: p.tag, i: markerIndex })) === ok,
      timeoutMs,
      `marker of ${p.tag} acknowledged`,
      100,
    );
  }
  await until(
    () =>
      subscribers.every((s) =>
        publishers.every((p) => s.client.deliveries.some((d) => key(d.data as Tag) === key({ p: p.tag, i: markerIndex }))),
      ),
    timeoutMs,
    "every marker at every subscriber",
    10,
  );
}

/**
 * Whether every subscriber received, from every publisher, a message that publisher sent
 * after `since`: service is back for all of them.
 */
export function servedSince(
  publishers: readonly Pick<ContinuousPublisher, "sent" | "tag">[],
  subscribers: readonly Pick<Watched["client"], "deliveries">[],
  since: number,
): boolean {
  return subscribers.every((sub) =>
    publishers.every((p) =>
      sub.deliveries.some((d) => {
        const tag = d.data as Tag;
        return tag.p === p.tag && tag.i !== markerIndex && must(p.sent[tag.i]).sentAt > since;
      }),
    ),
  );
}

/**
 * Checks what every subscriber received against what every publisher was told: each
 * publish answered ok arrived at every subscriber exactly once, in its publisher's order,
 * and subscribers of one channel agree on the order; misses are allowed only where
 * `excuse` gives a documented reason. Call after {@link stopAndFlush}.
 */
export function audit(
  publishers: readonly Pick<ContinuousPublisher, "sent">[],
  subscribers: readonly Watched[],
  excuse: Excuse = () => undefined,
): AuditReport {
  const sent = publishers.flatMap((p) => p.sent);
  const byKey = new Map(sent.map((s) => [key(s), s]));
  const acked = sent.filter((s) => s.reply === ok);
  const refused = sent.filter((s) => s.reply === unavailable);
  const excused: Record<string, number> = {};
  const lost: string[] = [];
  const duplicates: string[] = [];
  const reordered: string[] = [];
  const unknown: string[] = [];
  const divergent: string[] = [];
  const deliveredRefused = new Set<string>();
  const orders = new Map<string, { name: string; keys: string[] }[]>();

  for (const { name, client } of subscribers) {
    const seen = new Set<string>();
    const lastOf = new Map<string, number>();
    const perChannel = new Map<string, string[]>();
    for (const d of client.deliveries) {
      const tag = d.data as Tag;
      if (tag.i === markerIndex) continue;
      const k = key(tag);
      if (!byKey.has(k)) unknown.push(`${k} at ${name}`);
      if (seen.has(k)) duplicates.push(`${k} at ${name}`);
      else if ((lastOf.get(tag.p) ?? -1) > tag.i) reordered.push(`${k} at ${name} after ${tag.p}:${lastOf.get(tag.p)}`);
      seen.add(k);
      lastOf.set(tag.p, Math.max(tag.i, lastOf.get(tag.p) ?? -1));
      if (byKey.get(k)?.reply === unavailable) deliveredRefused.add(k);
      const list = perChannel.get(d.channel) ?? [];
      list.push(k);
      perChannel.set(d.channel, list);
    }
    for (const s of acked) {
      if (seen.has(key(s))) continue;
      const reason = excuse(s, name);
      if (reason === undefined) lost.push(`${key(s)} at ${name}`);
      else excused[reason] = (excused[reason] ?? 0) + 1;
    }
    for (const [channel, keys] of perChannel) {
      const list = orders.get(channel) ?? [];
      list.push({ name, keys });
      orders.set(channel, list);
    }
  }
  // One order per channel: restricted to the messages both received, any two agree.
  for (const [channel, list] of orders) {
    const [first, ...rest] = list;
    for (const other of rest) {
      const mine = new Set(must(first).keys);
      const theirs = new Set(other.keys);
      const a = must(first).keys.filter((k) => theirs.has(k));
      const b = other.keys.filter((k) => mine.has(k));
      if (a.some((k, i) => b[i] !== k)) divergent.push(`${channel}: ${must(first).name} and ${other.name}`);
    }
  }
  return {
    published: sent.length,
    acked: acked.length,
    unavailable: refused.length,
    unavailableDelivered: deliveredRefused.size,
    otherReplies: [...new Set(sent.filter((s) => s.reply !== ok && s.reply !== unavailable).map((s) => String(s.reply)))],
    excused,
    lost,
    duplicates,
    reordered,
    divergent,
    unknown,
  };
}

/** Prints the report (the counts are worth reading in CI logs) and fails on any broken promise. */
export function expectAcksKept(title: string, report: AuditReport, subscribers: readonly Watched[]): void {
  console.log(`${title}: ${JSON.stringify(report)}`);
  expect.soft(report.lost.slice(0, 20), "acknowledged, never delivered").toEqual([]);
  expect.soft(report.duplicates.slice(0, 20), "delivered twice").toEqual([]);
  expect.soft(report.reordered.slice(0, 20), "out of publish order").toEqual([]);
  expect.soft(report.divergent, "subscribers disagree on a channel's order").toEqual([]);
  expect.soft(report.unknown.slice(0, 20), "never published").toEqual([]);
  expect.soft(report.otherReplies, "replies other than ok and unavailable").toEqual([]);
  for (const { name, client } of subscribers) expect(client.isOpen, `${name} still connected`).toBe(true);
}

/**
 * When `gw` logged its first line matching `match` after `afterMs`, on this process's
 * `performance.now()` clock (gateway logs carry wall-clock ISO times; both run on one host).
 */
export async function loggedAt(gw: GatewayProc, match: RegExp, afterMs: number, timeoutMs = 10_000): Promise<number> {
  const at = (line: string) => Date.parse((JSON.parse(line) as { time: string }).time) - performance.timeOrigin;
  const line = await gw.proc.waitForLine((l) => match.test(l) && l.startsWith("{") && at(l) >= afterMs - 1, timeoutMs);
  return at(line);
}
