import type { RocketClient } from "@rocket/client";
import { Channel, PositionEvent, parseMove, parsePresence } from "./demo-messages.js";
import { element } from "./dom.js";
import type { Identity } from "./identity.js";
import { type Position, PositionPublisher } from "./position-publisher.js";

/** Most position publishes per second from one tab. */
const maxMovesPerSecond = 20;
/** One arrow-key press moves this far, in board widths. */
const keyStep = 0.02;

const keyMoves: Readonly<Record<string, readonly [number, number]>> = {
  ArrowLeft: [-1, 0],
  ArrowRight: [1, 0],
  ArrowUp: [0, -1],
  ArrowDown: [0, 1],
  a: [-1, 0],
  d: [1, 0],
  w: [0, -1],
  s: [0, 1],
};

/**
 * The seed's multiplayer replicator, in small: every tab moves its own dot with the mouse,
 * a finger or the keys, and publishes its position on channel `positions` at a bounded
 * rate and only when it changed; every tab draws every dot.
 */
export class Board {
  readonly #client: RocketClient;
  readonly #me: Identity;
  readonly #area: HTMLElement;
  readonly #dots = new Map<string, HTMLElement>();
  readonly #publisher: PositionPublisher;
  #writable = false;

  constructor(client: RocketClient, me: Identity, area: HTMLElement, random: () => number = Math.random) {
    this.#client = client;
    this.#me = me;
    this.#area = area;
    this.#publisher = new PositionPublisher({
      intervalMs: 1000 / maxMovesPerSecond,
      canSend: () => this.#writable && client.state === "open",
      send: (p) => client.publish(Channel.Positions, PositionEvent.Move, { id: me.id, name: me.name, hue: me.hue, ...p }),
    });
    client.on(Channel.Positions, (message) => this.#receive(message.event, message.data));
    this.#listen();
    this.#moveTo({ x: 0.15 + random() * 0.7, y: 0.15 + random() * 0.7 });
  }

  /** Whether this tab may publish; its dot is shown to others only then. */
  setWritable(writable: boolean): void {
    this.#writable = writable;
    this.#area.classList.toggle("read-only", !writable);
    if (writable) this.#publisher.resume();
  }

  /**
   * Asks everyone for their position and offers ours: the way in for a newcomer, and the
   * way to catch up after a reconnect (moves made meanwhile were not delivered to us).
   */
  hello(): void {
    if (!this.#writable) return;
    this.#client.publish(Channel.Positions, PositionEvent.Hello, { id: this.#me.id, name: this.#me.name }).catch(() => {});
    this.#publisher.resend();
  }

  /** Sending is possible again (reconnected). */
  resume(): void {
    this.#publisher.resume();
  }

  /** Takes our dot off every board (the page is going away). */
  leave(): void {
    if (!this.#writable) return;
    this.#client.publish(Channel.Positions, PositionEvent.Leave, { id: this.#me.id, name: this.#me.name }).catch(() => {});
  }

  /** Our name changed: others learn it with the next position. */
  renamed(): void {
    this.#dot(this.#me.id, this.#me.name, this.#me.hue);
    this.#publisher.resend();
  }

  #listen(): void {
    const area = this.#area;
    const follow = (event: PointerEvent) => {
      const box = area.getBoundingClientRect();
      if (box.width === 0 || box.height === 0) return;
      this.#moveTo({ x: (event.clientX - box.left) / box.width, y: (event.clientY - box.top) / box.height });
    };
    area.addEventListener("pointerdown", (event) => {
      area.setPointerCapture(event.pointerId);
      follow(event);
    });
    area.addEventListener("pointermove", (event) => {
      // A mouse moves the dot just by hovering; a finger or pen while touching.
      if (event.pointerType === "mouse" || event.buttons !== 0) follow(event);
    });
    document.addEventListener("keydown", (event) => {
      const target = event.target as HTMLElement | null;
      if (event.altKey || event.ctrlKey || event.metaKey || target?.closest("input, textarea, select, button")) return;
      const step = keyMoves[event.key];
      if (step === undefined) return;
      event.preventDefault();
      const at = this.#publisher.latest ?? { x: 0.5, y: 0.5 };
      this.#moveTo({ x: at.x + step[0] * keyStep, y: at.y + step[1] * keyStep });
    });
  }

  #moveTo(position: Position): void {
    this.#publisher.update(position);
    const at = this.#publisher.latest as Position;
    this.#place(this.#dot(this.#me.id, this.#me.name, this.#me.hue), at.x, at.y);
  }

  #receive(event: string, data: unknown): void {
    switch (event) {
      case PositionEvent.Move: {
        const move = parseMove(data);
        if (move === undefined || move.id === this.#me.id) return;
        this.#place(this.#dot(move.id, move.name, move.hue), move.x, move.y);
        return;
      }
      case PositionEvent.Hello: {
        const who = parsePresence(data);
        if (who !== undefined && who.id !== this.#me.id) this.#publisher.resend();
        return;
      }
      case PositionEvent.Leave: {
        const who = parsePresence(data);
        if (who === undefined || who.id === this.#me.id) return;
        this.#dots.get(who.id)?.remove();
        this.#dots.delete(who.id);
        return;
      }
    }
  }

  #dot(id: string, name: string, hue: number): HTMLElement {
    let dot = this.#dots.get(id);
    if (dot === undefined) {
      dot = element("div", id === this.#me.id ? "dot me" : "dot");
      dot.dataset.id = id;
      dot.append(element("span", "label"));
      this.#area.append(dot);
      this.#dots.set(id, dot);
    }
    dot.style.setProperty("--hue", String(hue));
    const label = dot.firstElementChild as HTMLElement;
    const text = id === this.#me.id ? `${name} (you)` : name;
    if (label.textContent !== text) label.textContent = text;
    return dot;
  }

  #place(dot: HTMLElement, x: number, y: number): void {
    dot.dataset.x = String(x);
    dot.dataset.y = String(y);
    dot.style.left = `${x * 100}%`;
    dot.style.top = `${y * 100}%`;
  }
}
