import { type RocketClient, RocketError } from "@rocket/client";
import { Channel, ChatEvent, maxTextLength, parseChatMessage, parsePresence, parseRename } from "./demo-messages.js";
import { element } from "./dom.js";
import { cleanName, type Identity } from "./identity.js";

export interface ChatElements {
  readonly log: HTMLOListElement;
  readonly form: HTMLFormElement;
  readonly input: HTMLInputElement;
  readonly send: HTMLButtonElement;
  readonly name: HTMLInputElement;
}

/** Lines kept in the log; older ones are removed. */
const maxLines = 200;

/** Messages shown from the room's history on entering. */
const pastLines = 50;

/**
 * The chat room of the seed's talk: everybody's messages, with join and leave lines, on
 * channel `chat`. Messages show up when the hub delivers them back, so every tab sees
 * the same order. Where the channel keeps history (as `npm start` configures it), entering
 * shows the last messages and subscribes from right after them, and a reconnect recovers
 * what was said meanwhile: no line is lost or shown twice.
 */
export class ChatRoom {
  readonly #client: RocketClient;
  readonly #me: Identity;
  readonly #ui: ChatElements;
  readonly #saveName: (name: string) => void;
  #joined = false;

  constructor(client: RocketClient, me: Identity, ui: ChatElements, saveName: (name: string) => void) {
    this.#client = client;
    this.#me = me;
    this.#ui = ui;
    this.#saveName = saveName;
    ui.input.maxLength = maxTextLength;
    ui.name.value = me.name;
    this.setWritable(false);
    client.on(Channel.Chat, (message) => this.#receive(message.event, message.data));
    ui.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.#say();
    });
    ui.name.addEventListener("change", () => this.#rename());
  }

  /** Whether this tab may publish (it holds the read-write secret). */
  setWritable(writable: boolean): void {
    this.#ui.input.disabled = !writable;
    this.#ui.send.disabled = !writable;
    this.#ui.input.placeholder = writable ? "Say something" : "Read-only: the read-write secret is needed to chat";
  }

  /**
   * Shows the room's last messages, then subscribes from where they end (every later
   * message follows, once). A hub without history for the room answers no messages and no
   * position: the subscription then starts now.
   */
  async enter(): Promise<void> {
    const past = await this.#client.history(Channel.Chat, { limit: pastLines });
    if (past.messages.length > 0) this.note(`The last ${past.messages.length} messages before you came:`);
    for (const message of past.messages) this.#receive(message.event, message.data);
    await this.#client.subscribe(Channel.Chat, past.position ? { since: past.position } : {});
  }

  /** Announces this tab, once. */
  join(): void {
    if (this.#joined) return;
    this.#joined = true;
    this.#publish(ChatEvent.Join, { id: this.#me.id, name: this.#me.name });
  }

  /** Says goodbye (the page is going away). */
  leave(): void {
    if (this.#joined) this.#publish(ChatEvent.Leave, { id: this.#me.id, name: this.#me.name });
  }

  /** A line from the page itself, not from the room. */
  note(text: string): void {
    this.#append(element("li", "note", text));
  }

  #say(): void {
    const text = this.#ui.input.value.trim();
    if (text === "") return;
    this.#ui.input.value = "";
    this.#publish(ChatEvent.Message, { id: this.#me.id, name: this.#me.name, text }, text);
  }

  #rename(): void {
    const name = cleanName(this.#ui.name.value);
    if (name === "" || name === this.#me.name) {
      this.#ui.name.value = this.#me.name;
      return;
    }
    const from = this.#me.name;
    this.#me.name = name;
    this.#ui.name.value = name;
    this.#saveName(name);
    if (this.#joined) this.#publish(ChatEvent.Rename, { id: this.#me.id, name, from });
  }

  #publish(event: string, data: object, text?: string): void {
    this.#client.publish(Channel.Chat, event, data).catch((error: unknown) => {
      const code = error instanceof RocketError ? error.code : String(error);
      this.note(text === undefined ? `Could not send ${event} (${code})` : `Not sent (${code}): ${text}`);
    });
  }

  #receive(event: string, data: unknown): void {
    switch (event) {
      case ChatEvent.Message: {
        const message = parseChatMessage(data);
        if (message === undefined) return;
        const line = element("li", message.id === this.#me.id ? "message mine" : "message");
        line.append(element("span", "name", message.name), element("span", "text", message.text));
        this.#append(line);
        return;
      }
      case ChatEvent.Join:
      case ChatEvent.Leave: {
        const who = parsePresence(data);
        if (who) this.#append(element("li", `presence ${event}`, `${who.name} ${event === ChatEvent.Join ? "joined" : "left"}`));
        return;
      }
      case ChatEvent.Rename: {
        const rename = parseRename(data);
        if (rename) this.#append(element("li", "presence rename", `${rename.from} is now ${rename.name}`));
        return;
      }
    }
  }

  #append(line: HTMLLIElement): void {
    const log = this.#ui.log;
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    log.append(line);
    while (log.childElementCount > maxLines) log.firstElementChild?.remove();
    if (atBottom) log.scrollTop = log.scrollHeight;
  }
}
