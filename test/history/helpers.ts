import { expect } from "vitest";
import { type GatewayProc, type Resources, TestClient } from "../harness/index.js";

/** How many messages `gw` read back from the history (its "missed messages read back" log lines). */
export function filled(gw: GatewayProc): number {
  return gw.proc.lines
    .filter((l) => l.includes('"msg":"missed messages read back from the history"'))
    .reduce((sum, l) => sum + (JSON.parse(l) as { messages: number }).messages, 0);
}

/** The read-write secret the harness gives every gateway. */
export const secret = "test-secret";

/** Channels starting with `h:` keep history (Size 2000, an hour); others do not. */
export function historyConfig(size = 2000, ttlSeconds = 3600): object {
  return { Channels: [{ Prefix: "h:", History: { Size: size, TtlSeconds: ttlSeconds } }] };
}

/** A delivery's position, as the frame carries it. */
export interface Positioned {
  readonly offset: number;
  readonly epoch: string;
  readonly data: unknown;
}

/** A position as a subscribe reply or a delivery carries it. */
export interface Position {
  readonly offset: number;
  readonly epoch: string;
}

/** The deliveries of `channel` received by `client`, with their positions. */
export function positioned(client: TestClient, channel: string): Positioned[] {
  return client.deliveries
    .filter((d) => d.channel === channel)
    .map((d) => ({ offset: d.offset as number, epoch: d.epoch as string, data: d.data }));
}

/** A connected client with read-write access. */
export async function connect(resources: Resources, gw: GatewayProc | string): Promise<TestClient> {
  const client = resources.add(await TestClient.connect(typeof gw === "string" ? gw : gw.url()), (c) => c.close());
  expect(await client.auth("read-write", secret)).toEqual({ ok: true });
  return client;
}

/** Subscribes with `since` and returns the reply. */
export function subscribeSince(client: TestClient, channel: string, since: object) {
  return client.request({ subscribe: { channel, since } });
}

/**
 * What one subscriber got of a sequence of acknowledged messages, each identified by a
 * number: lost (acknowledged, never received), duplicated (received more than once),
 * reordered (received after a later one).
 */
export interface Tally {
  readonly acked: number;
  readonly delivered: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly reordered: number;
}

/** Counts `received` (message numbers in arrival order) against the acknowledged ones. */
export function tally(acked: readonly number[], received: readonly number[]): Tally {
  const seen = new Map<number, number>();
  let reordered = 0;
  let highest = -1;
  for (const n of received) {
    seen.set(n, (seen.get(n) ?? 0) + 1);
    if (n < highest) reordered += 1;
    highest = Math.max(highest, n);
  }
  let duplicated = 0;
  for (const count of seen.values()) duplicated += count - 1;
  const lost = acked.filter((n) => !seen.has(n)).length;
  return { acked: acked.length, delivered: received.length, lost, duplicated, reordered };
}
