/**
 * The cells of the first Markdown table whose header line is `header` (or matches it), row
 * by row without the header and its rule, trimmed. Cells are split at `separator`; " | " keeps
 * a bare `|` inside a cell.
 */
export function markdownTable(text: string, header: RegExp | string, separator = "|"): string[][] {
  const lines = text.split("\n");
  const start = typeof header === "string" ? lines.indexOf(header) : lines.findIndex((l) => header.test(l));
  if (start < 0) throw new Error(`no table headed ${header}`);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith("|")) break;
    rows.push(
      line
        .slice(1, -1)
        .split(separator)
        .map((cell) => cell.trim()),
    );
  }
  return rows;
}
