import { createHash } from "node:crypto";
import type { RedisCommands } from "./redis-link.js";

/** Roughly how many events the webhook stream keeps at most (`XADD … MAXLEN ~`): what an endpoint down for long loses. */
export const webhookStreamMaxLength = 100_000;

/**
 * What the audience scripts share. KEYS: users hash, members hash, and (when the stream is
 * on the same server: not on a Cluster) the webhook stream. ARGV[1..11]: member, pub/sub
 * channel ('' publishes nothing), origin stamp (ms), 'h' (history topic: kind 0 envelope) or
 * 'p', join head, leave head, tail, occupancy ('', '1', '0'), topic, the letters of the
 * events to record (o, v, j, l), time (ms). Returns the events decided, as name, user pairs.
 */
function prelude(publishCommand: string): string {
  return `
local member = ARGV[1]
local events = {}
local function emit(letter, name, user)
  if not string.find(ARGV[10], letter, 1, true) then return end
  events[#events + 1] = name
  events[#events + 1] = user
  if KEYS[3] then
    if user == '' then
      redis.call('XADD', KEYS[3], 'MAXLEN', '~', ${webhookStreamMaxLength}, '*', 'e', name, 't', ARGV[9], 'ms', ARGV[11])
    else
      redis.call('XADD', KEYS[3], 'MAXLEN', '~', ${webhookStreamMaxLength}, '*', 'e', name, 't', ARGV[9], 'u', user, 'ms', ARGV[11])
    end
  end
end
local function publish(head, user)
  if ARGV[2] == '' then return end
  local envelope = struct.pack('<d', tonumber(ARGV[3]))
  if ARGV[4] == 'h' then envelope = envelope .. '\\0' end
  redis.call('${publishCommand}', ARGV[2], envelope .. head .. user .. ARGV[7])
end
local function changed(user, delta)
  local total = redis.call('HINCRBY', KEYS[1], user, delta)
  local before = total - delta
  if total <= 0 then redis.call('HDEL', KEYS[1], user) end
  if before <= 0 and total > 0 then
    publish(ARGV[5], user)
    emit('j', 'join', user)
  elseif before > 0 and total <= 0 then
    publish(ARGV[6], user)
    emit('l', 'leave', user)
  end
end
local function vacate()
  if redis.call('HDEL', KEYS[2], 'c\\n' .. member) == 1 and redis.call('HINCRBY', KEYS[2], 'n', -1) <= 0 then
    redis.call('HDEL', KEYS[2], 'n')
    emit('v', 'channel_vacated', '')
  end
end
`;
}

/**
 * Sets one member's part of a topic's audience: its subscriber mark (ARGV[8]) and, from
 * ARGV[12] on, user/count pairs (the member's connections of that user now; 0: none). A
 * user's first connection anywhere publishes its join, its last its leave; the first
 * member marked publishes nothing but records `channel_occupied`, the last `channel_vacated`.
 */
function applyLua(publishCommand: string): string {
  return `${prelude(publishCommand)}
if ARGV[8] == '1' then
  if redis.call('HSETNX', KEYS[2], 'c\\n' .. member, 1) == 1 and redis.call('HINCRBY', KEYS[2], 'n', 1) == 1 then
    emit('o', 'channel_occupied', '')
  end
elseif ARGV[8] == '0' then
  vacate()
end
for i = 12, #ARGV, 2 do
  local user = ARGV[i]
  local count = tonumber(ARGV[i + 1])
  local field = 'm\\n' .. member .. '\\n' .. user
  local old = tonumber(redis.call('HGET', KEYS[2], field) or '0')
  if count ~= old then
    if count > 0 then redis.call('HSET', KEYS[2], field, count) else redis.call('HDEL', KEYS[2], field) end
    changed(user, count - old)
  end
end
return events
`;
}

/** Removes everything one member (a node gone) left in a topic's audience, with the leaves and the vacancy that follow. */
function removeLua(publishCommand: string): string {
  return `${prelude(publishCommand)}
local prefix = 'm\\n' .. member .. '\\n'
local all = redis.call('HGETALL', KEYS[2])
for i = 1, #all, 2 do
  local field = all[i]
  if string.sub(field, 1, #prefix) == prefix then
    redis.call('HDEL', KEYS[2], field)
    changed(string.sub(field, #prefix + 1), -tonumber(all[i + 1]))
  end
end
vacate()
return events
`;
}

/** A script run by its SHA1 (EVALSHA), sent whole (EVAL) when the server does not have it yet. */
export class Script {
  private readonly sha: string;
  constructor(private readonly lua: string) {
    this.sha = createHash("sha1").update(lua).digest("hex");
  }

  async run(commands: RedisCommands, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await commands.call("EVALSHA", [this.sha, keys.length, ...keys, ...args]);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith("NOSCRIPT")) throw err;
      return commands.evalScript(this.lua, keys, args);
    }
  }
}

/** The two audience scripts for one publish command (PUBLISH on one server, SPUBLISH on a Cluster). */
export function audienceScripts(publishCommand: "PUBLISH" | "SPUBLISH"): { apply: Script; remove: Script } {
  return { apply: new Script(applyLua(publishCommand)), remove: new Script(removeLua(publishCommand)) };
}
