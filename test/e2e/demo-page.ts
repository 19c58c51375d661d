/// <reference lib="dom" />
// Functions passed to page.evaluate run in the page, where the DOM exists.
import type { Locator, Page } from "playwright-core";

/** How long to wait for something to show up on a page, ms. */
const showsUpMs = 10_000;

/** The demo page, driven the way a person would: typing, moving the mouse, reading the screen. */
export class DemoPage {
  readonly errors: string[] = [];

  constructor(readonly page: Page) {
    page.on("pageerror", (error) => this.errors.push(error.message));
  }

  async open(url: string): Promise<void> {
    await this.page.goto(url);
  }

  badge(): Locator {
    return this.page.locator("#badge");
  }

  /** Waits until the badge shows `state`. */
  async waitForState(state: string, timeoutMs = showsUpMs): Promise<void> {
    await this.page.locator(`#badge[data-state="${state}"]`).waitFor({ timeout: timeoutMs });
  }

  /**
   * Starts recording every state the badge shows, so that a state shown only for a few
   * milliseconds is not missed; {@link shownStates} reads the record.
   */
  async recordStates(): Promise<void> {
    await this.page.evaluate(() => {
      const badge = document.getElementById("badge") as HTMLElement;
      const seen: string[] = [badge.dataset.state ?? ""];
      (window as unknown as { shownStates: string[] }).shownStates = seen;
      new MutationObserver(() => {
        const state = badge.dataset.state ?? "";
        if (seen.at(-1) !== state) seen.push(state);
      }).observe(badge, { attributes: true, attributeFilter: ["data-state"] });
    });
  }

  async shownStates(): Promise<string[]> {
    return this.page.evaluate(() => (window as unknown as { shownStates: string[] }).shownStates);
  }

  /** Waits until the page may chat (authenticated read-write and subscribed). */
  async waitUntilWritable(): Promise<void> {
    await this.page.locator("#chat-input:enabled").waitFor({ timeout: showsUpMs });
  }

  async node(): Promise<string> {
    return (await this.page.locator("#badge-node").textContent()) ?? "";
  }

  async name(): Promise<string> {
    return this.page.locator("#name-input").inputValue();
  }

  async say(text: string): Promise<void> {
    await this.page.locator("#chat-input").fill(text);
    await this.page.locator("#chat-input").press("Enter");
  }

  /** Waits for a chat message with exactly `text` from `name`. */
  async waitForMessage(name: string, text: string): Promise<void> {
    await this.page
      .locator("#chat-log li.message")
      .filter({ has: this.page.locator(".name", { hasText: name }) })
      .filter({ has: this.page.locator(".text", { hasText: text }) })
      .first()
      .waitFor({ timeout: showsUpMs });
  }

  /** Waits for a join/leave/rename line containing `text`. */
  async waitForPresence(text: string): Promise<void> {
    await this.page.locator("#chat-log li.presence", { hasText: text }).first().waitFor({ timeout: showsUpMs });
  }

  /** Waits for a line the page wrote itself (connection notes) containing `text`. */
  async waitForNote(text: string): Promise<void> {
    await this.page.locator("#chat-log li.note", { hasText: text }).first().waitFor({ timeout: showsUpMs });
  }

  /** Waits until dot `id` is gone from the board. */
  async waitForNoDot(id: string): Promise<void> {
    await this.page.locator(`#board .dot[data-id="${id}"]`).waitFor({ state: "detached", timeout: showsUpMs });
  }

  /** This tab's dot id. */
  async myDotId(): Promise<string> {
    const id = await this.page.locator("#board .dot.me").getAttribute("data-id");
    if (!id) throw new Error("no own dot on the board");
    return id;
  }

  /** Moves the mouse over the board to (x, y), as fractions of its size. */
  async moveMouseTo(x: number, y: number): Promise<void> {
    const box = await this.page.locator("#board").boundingBox();
    if (!box) throw new Error("the board is not visible");
    await this.page.mouse.move(box.x + box.width * x, box.y + box.height * y, { steps: 8 });
  }

  /** Presses `key` with the focus on no input field (as after clicking the page background). */
  async pressKey(key: string, times = 1): Promise<void> {
    await this.page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    for (let i = 0; i < times; i++) await this.page.keyboard.press(key);
  }

  /** Waits until the dot `id` stands within 0.01 of (x, y). */
  async waitForDotAt(id: string, x: number, y: number): Promise<void> {
    await this.page.waitForFunction(
      ({ id, x, y }) => {
        const dot = document.querySelector<HTMLElement>(`#board .dot[data-id="${id}"]`);
        return dot !== null && Math.abs(Number(dot.dataset.x) - x) <= 0.01 && Math.abs(Number(dot.dataset.y) - y) <= 0.01;
      },
      { id, x, y },
      { timeout: showsUpMs, polling: 50 },
    );
  }

  /** Whether the page is wider than the viewport (it should never scroll sideways). */
  async overflowsSideways(): Promise<boolean> {
    return this.page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
  }
}
