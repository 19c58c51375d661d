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
