import type { RocketClient } from "@rocket/client";
import type { RateMeter } from "./rate-meter.js";

export interface BadgeElements {
  readonly root: HTMLElement;
  readonly state: HTMLElement;
  readonly node: HTMLElement;
  readonly rtt: HTMLElement;
  readonly rate: HTMLElement;
}

/** How often the round trip is measured while open, ms. */
const pingEveryMs = 2000;
/** How often the message rate is redrawn, ms. */
const redrawEveryMs = 500;

/**
 * The connection badge: state, the node the socket is connected to (as host:port: the
 * protocol does not name nodes), round-trip time and messages received per second.
 */
export class Badge {
  readonly #client: RocketClient;
  readonly #ui: BadgeElements;
  readonly #meter: RateMeter;

  constructor(client: RocketClient, ui: BadgeElements, meter: RateMeter) {
    this.#client = client;
    this.#ui = ui;
    this.#meter = meter;
    this.render();
    client.onState(() => this.render());
    setInterval(() => this.#measure(), pingEveryMs);
    setInterval(() => this.#drawRate(), redrawEveryMs);
  }

  /** Redraws state and node. */
  render(): void {
    const state = this.#client.state;
    this.#ui.root.dataset.state = state;
    this.#ui.state.textContent = state;
    this.#ui.node.textContent = hostOf(this.#client.url);
    this.#ui.node.title = this.#client.url;
    if (state === "open") this.#measure();
    else this.#ui.rtt.textContent = "– ms";
  }

  #measure(): void {
    if (this.#client.state !== "open") return;
    this.#client.ping().then(
      (ms) => {
        this.#ui.rtt.textContent = ms < 1 ? "<1 ms" : `${Math.round(ms)} ms`;
      },
      () => {
        this.#ui.rtt.textContent = "– ms";
      },
    );
  }

  #drawRate(): void {
    this.#ui.rate.textContent = `${Math.round(this.#meter.perSecond())} msg/s`;
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
