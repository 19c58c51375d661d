import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { markdownTable } from "../harness/markdown.js";

const root = new URL("../../", import.meta.url);
const operations = readFileSync(new URL("docs/operations.md", root), "utf8");

/**
 * The titles of the tests a file defines: the string given to `it(…)` or `test(…)`, or to
 * the call after an `it.each([…])`. Template literals are kept as written (`${…}` and all).
 */
function testTitles(source: string): string[] {
  const literal = /(["'`])((?:\\.|(?!\1)[^\\])*)\1/.source;
  const direct = new RegExp(String.raw`\b(?:it|test)\s*\(\s*${literal}`, "g");
  const each = new RegExp(String.raw`\]\)\s*\(\s*${literal}`, "g");
  return [...source.matchAll(direct), ...source.matchAll(each)].map((m) => m[2] ?? "");
}

const unquote = (cell: string) => cell.replace(/^`|`$/g, "").replace(/^"|"$/g, "");

describe("docs/operations.md, Promises and their tests", () => {
  const rows = markdownTable(operations, "| Promise | Where | Test file | Test |", " | ");

  it("maps promises to tests, a line each", () => {
    expect(rows.length).toBeGreaterThan(100);
    for (const row of rows) expect(row, row.join(" | ")).toHaveLength(4);
  });

  it("names only test files that exist and test titles they hold", () => {
    const missing: string[] = [];
    for (const [promise, , fileCell = "", titleCell = ""] of rows) {
      const file = unquote(fileCell);
      const title = unquote(titleCell);
      const path = new URL(file, root);
      if (!existsSync(path)) {
        missing.push(`${promise}: no file ${file}`);
        continue;
      }
      const titles = testTitles(readFileSync(path, "utf8"));
      if (title.length < 10 || !titles.some((t) => t.includes(title))) missing.push(`${promise}: no test "${title}" in ${file}`);
    }
    expect(missing).toEqual([]);
  });
});

describe("docs/operations.md, Faults and what clients see", () => {
  it("names only test files that exist", () => {
    const rows = markdownTable(
      operations,
      "| Fault | While it lasts | After, channel without history | After, channel with history | Tests |",
      " | ",
    );
    expect(rows.length).toBeGreaterThan(10);
    const files = rows.flatMap((row) => [...(row[4] ?? "").matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? ""));
    expect(files.filter((file) => !existsSync(new URL(file, root)))).toEqual([]);
  });
});
