/**
 * The demo's channels, events and payloads. Anyone holding the read-write secret can
 * publish anything, so every payload is checked before use.
 */
export const Channel = { Chat: "chat", Positions: "positions" } as const;

/** `chat` events. */
export const ChatEvent = { Join: "join", Leave: "leave", Message: "message", Rename: "rename" } as const;

/** `positions` events: `hello` asks everyone to send their position again (a newcomer, a reconnect). */
export const PositionEvent = { Move: "move", Hello: "hello", Leave: "leave" } as const;

/** `join`, `leave`: who. */
export interface Presence {
  readonly id: string;
  readonly name: string;
}

/** `message`: who said what. */
export interface ChatMessage extends Presence {
  readonly text: string;
}

/** `rename`: who was called what. */
export interface Rename extends Presence {
  readonly from: string;
}

/** `move`: a dot, where it is (0..1 on both axes) and how it looks. */
export interface Move extends Presence {
  readonly hue: number;
  readonly x: number;
  readonly y: number;
}

/** Longest chat message, in characters. */
export const maxTextLength = 500;

type Fields = Record<string, unknown>;

const isFields = (v: unknown): v is Fields => typeof v === "object" && v !== null && !Array.isArray(v);
const isText = (v: unknown, max: number): v is string => typeof v === "string" && v.length > 0 && v.length <= max;
const isUnit = (v: unknown): v is number => typeof v === "number" && v >= 0 && v <= 1;

export function parsePresence(data: unknown): Presence | undefined {
  if (!isFields(data) || !isText(data.id, 64) || !isText(data.name, 64)) return undefined;
  return { id: data.id, name: data.name };
}

export function parseChatMessage(data: unknown): ChatMessage | undefined {
  const who = parsePresence(data);
  if (who === undefined || !isFields(data) || !isText(data.text, maxTextLength)) return undefined;
  return { ...who, text: data.text };
}

export function parseRename(data: unknown): Rename | undefined {
  const who = parsePresence(data);
  if (who === undefined || !isFields(data) || !isText(data.from, 64)) return undefined;
  return { ...who, from: data.from };
}

export function parseMove(data: unknown): Move | undefined {
  const who = parsePresence(data);
  if (who === undefined || !isFields(data) || !isUnit(data.x) || !isUnit(data.y)) return undefined;
  const hue = typeof data.hue === "number" && data.hue >= 0 && data.hue < 360 ? Math.floor(data.hue) : 0;
  return { ...who, hue, x: data.x, y: data.y };
}
