/** Who this tab is: a random id, a name the user can change, and the hue of its dot. */
export interface Identity {
  readonly id: string;
  name: string;
  /** 0–359, of an HSL colour. */
  readonly hue: number;
}

const adjectives = ["brave", "calm", "eager", "fuzzy", "jolly", "lucky", "mellow", "nimble", "quick", "sunny", "witty", "zesty"];
const animals = ["otter", "panda", "lynx", "heron", "koala", "gecko", "bison", "finch", "moose", "tapir", "wombat", "yak"];

/**
 * A new identity. `crypto.getRandomValues` rather than `randomUUID`: the latter exists only
 * on secure origins, and the demo may be opened over plain http from another machine.
 */
export function createIdentity(storedName: string | null, random: (n: number) => number = randomInt): Identity {
  const id = Array.from({ length: 4 }, () => random(65536).toString(16).padStart(4, "0")).join("");
  const name = storedName?.trim() || `${pick(adjectives, random)}-${pick(animals, random)}`;
  return { id, name, hue: random(360) };
}

/** Trims a name to something displayable: 1–24 characters, no control characters. */
export function cleanName(raw: string): string {
  return raw
    .replace(/[\u0000-\u001f\u007f]/g, "")
    .trim()
    .slice(0, 24);
}

function pick(words: readonly string[], random: (n: number) => number): string {
  return words[random(words.length)] as string;
}

function randomInt(n: number): number {
  const buffer = new Uint32Array(1);
  crypto.getRandomValues(buffer);
  return (buffer[0] as number) % n;
}
