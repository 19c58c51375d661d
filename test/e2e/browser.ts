import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { requireProgram } from "../harness/index.js";

/** Where screenshots go (git-ignored). */
export const artifactsDir = fileURLToPath(new URL("../../test-artifacts/e2e/", import.meta.url));

/**
 * Starts a headless Chromium (`chromium` on the PATH; Playwright never downloads a browser
 * here) with its own fresh profile; `close()` ends the process.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: requireProgram("chromium"),
    headless: true,
    timeout: 30_000,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-quic",
      "--no-first-run",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** Saves a screenshot as test-artifacts/e2e/<name>.png; returns the path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(artifactsDir, { recursive: true });
  const path = `${artifactsDir}${name}.png`;
  await page.screenshot({ path, fullPage: true });
  return path;
}
