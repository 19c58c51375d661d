/** Number of hash slots in a Redis Cluster. */
export const clusterSlots = 16384;

const table = crcTable();

/**
 * The Redis Cluster hash slot of a key or shard channel: CRC16 (XMODEM) of the name, or of
 * its `{hash tag}` when it has a non-empty one, modulo 16384 (cluster-spec "Keys distribution
 * model"). Used to pick one canary channel per shard.
 */
export function hashSlot(name: string): number {
  let bytes = Buffer.from(name, "utf8");
  const open = bytes.indexOf(0x7b); // {
  if (open !== -1) {
    const close = bytes.indexOf(0x7d, open + 1); // }
    if (close > open + 1) bytes = bytes.subarray(open + 1, close);
  }
  let crc = 0;
  for (const byte of bytes) crc = ((crc << 8) & 0xffff) ^ (table[((crc >> 8) ^ byte) & 0xff] ?? 0);
  return crc % clusterSlots;
}

function crcTable(): Uint16Array {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let j = 0; j < 8; j++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
}

const slotTags = new Map<number, string>();

/** A short hash tag whose slot is `slot`: found by trying `0`, `1`, `2`, … (a few thousand at most), then kept. */
export function tagForSlot(slot: number): string {
  let tag = slotTags.get(slot);
  if (tag !== undefined) return tag;
  for (let i = 0; ; i++) {
    if (hashSlot(String(i)) !== slot) continue;
    tag = String(i);
    slotTags.set(slot, tag);
    return tag;
  }
}
