import { jsonStringEnd } from "./json-bytes.js";

/** Where a member's value lies in a JSON text: its path from the root and its text, exactly as written. */
export interface RawMember {
  readonly path: readonly (string | number)[];
  readonly text: string;
}

interface Frame {
  readonly object: boolean;
  readonly path: readonly (string | number)[];
  /** Objects: the key of the member being read; arrays: the index of the element being read. */
  key: string | undefined;
  index: number;
  expectKey: boolean;
  /** Where this container's text starts, when it is the value of a wanted member. */
  readonly wantedAt: number;
}

const whitespace = /\s/;

/**
 * Every member named `name` of the objects in `text`, nested at most `maxDepth` containers
 * deep, with its value's text exactly as written (numbers beyond double precision, key order
 * and spacing kept). `text` must already be known to be valid JSON (JSON.parse accepted it);
 * the scan relies on that. Used where a value is passed on as the sender wrote it, as the
 * `data` of a publish is.
 */
export function rawMembers(text: string, name: string, maxDepth: number): RawMember[] {
  const found: RawMember[] = [];
  const stack: Frame[] = [];
  const n = text.length;
  /** The path of the value starting now, and whether it is a wanted member. */
  const here = (): { path: (string | number)[]; wanted: boolean } => {
    const parent = stack[stack.length - 1];
    if (parent === undefined) return { path: [], wanted: false };
    const step = parent.object ? (parent.key as string) : parent.index;
    return { path: [...parent.path, step], wanted: parent.object && parent.key === name && stack.length <= maxDepth };
  };
  const valueEnded = (path: readonly (string | number)[], wanted: boolean, start: number, end: number) => {
    if (wanted) found.push({ path, text: text.slice(start, end) });
  };
  let i = 0;
  while (i < n) {
    const c = text[i] as string;
    if (whitespace.test(c) || c === ":") {
      i++;
      continue;
    }
    const top = stack[stack.length - 1];
    if (c === ",") {
      if (top?.object) top.expectKey = true;
      else if (top) top.index++;
      i++;
      continue;
    }
    if (c === "}" || c === "]") {
      const closed = stack.pop() as Frame;
      if (closed.wantedAt >= 0) found.push({ path: closed.path, text: text.slice(closed.wantedAt, i + 1) });
      i++;
      continue;
    }
    if (c === '"') {
      const end = jsonStringEnd(text, i);
      if (top?.object && top.expectKey) {
        top.key = JSON.parse(text.slice(i, end + 1)) as string;
        top.expectKey = false;
      } else {
        const { path, wanted } = here();
        valueEnded(path, wanted, i, end + 1);
      }
      i = end + 1;
      continue;
    }
    const { path, wanted } = here();
    if (c === "{" || c === "[") {
      stack.push({ object: c === "{", path, key: undefined, index: 0, expectKey: c === "{", wantedAt: wanted ? i : -1 });
      i++;
      continue;
    }
    // A number or a literal: up to the next delimiter.
    let end = i + 1;
    while (end < n && !",}] \t\r\n".includes(text[end] as string)) end++;
    valueEnded(path, wanted, i, end);
    i = end;
  }
  return found;
}
