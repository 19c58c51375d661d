/**
 * Character codes of JSON's punctuation, for code that reads frames without parsing them
 * (the decoder's depth scan, rocket-bench's in-place reading of deliveries).
 */
export const JsonByte = {
  Quote: 0x22,
  Backslash: 0x5c,
  OpenBrace: 0x7b,
  CloseBrace: 0x7d,
  OpenBracket: 0x5b,
  CloseBracket: 0x5d,
  Colon: 0x3a,
  Comma: 0x2c,
} as const;

// A plain constant in the scan loop, not a property read.
const BACKSLASH = JsonByte.Backslash;

/**
 * Index of the closing quote of the JSON string opening at `start`, or the text's length
 * when it never closes (native search, not a char loop).
 */
export function jsonStringEnd(text: string, start: number): number {
  let at = start;
  for (;;) {
    at = text.indexOf('"', at + 1);
    if (at < 0) return text.length;
    // Escaped when preceded by an odd number of backslashes.
    let slashes = 0;
    while (text.charCodeAt(at - 1 - slashes) === BACKSLASH) slashes++;
    if ((slashes & 1) === 0) return at;
  }
}
