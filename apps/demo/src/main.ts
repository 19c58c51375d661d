import { RocketClient, RocketError } from "@rocket/client";
import { authenticate } from "./access.js";
import { Badge } from "./badge.js";
import { Board } from "./board.js";
import { ChatRoom } from "./chat.js";
import { Channel } from "./demo-messages.js";
import { byId } from "./dom.js";
import { createIdentity } from "./identity.js";
import { readPageConfig, withSecret } from "./page-config.js";
import { RateMeter } from "./rate-meter.js";

/** The page's composition root: reads the address, connects, and wires the parts together. */
function main(): void {
  const config = readPageConfig(window.location);
  const nameKey = "rocket-demo-name";
  const me = createIdentity(sessionStorage.getItem(nameKey));
  const reconnect = { initialDelayMs: 250, maxDelayMs: 5000 };
  // A token is presented on every connection by the client itself; a secret goes through authenticate().
  const client = new RocketClient(
    config.token === undefined ? { url: config.urls, reconnect } : { url: config.urls, reconnect, token: config.token },
  );

  const meter = new RateMeter();
  client.on(Channel.Chat, () => meter.add());
  client.on(Channel.Positions, () => meter.add());

  const board = new Board(client, me, byId("board", HTMLElement));
  const chat = new ChatRoom(
    client,
    me,
    {
      log: byId("chat-log", HTMLOListElement),
      form: byId("chat-form", HTMLFormElement),
      input: byId("chat-input", HTMLInputElement),
      send: byId("chat-send", HTMLButtonElement),
      name: byId("name-input", HTMLInputElement),
    },
    (name) => {
      sessionStorage.setItem(nameKey, name);
      board.renamed();
    },
  );
  new Badge(
    client,
    {
      root: byId("badge", HTMLElement),
      state: byId("badge-state", HTMLElement),
      node: byId("badge-node", HTMLElement),
      rtt: byId("badge-rtt", HTMLElement),
      rate: byId("badge-rate", HTMLElement),
    },
    meter,
  );

  let writable = false;
  let lost = false;
  client.onState(({ state, url }) => {
    if (state === "reconnecting" && !lost) {
      lost = true;
      chat.note("Connection lost; reconnecting…");
    } else if (state === "open") {
      if (lost) chat.note(`Reconnected via ${url}`);
      lost = false;
      board.resume();
      if (writable) board.hello();
    } else if (state === "closed") {
      chat.note("Disconnected for good; reload the page to connect again.");
    }
  });
  client.onError((error) => chat.note(`Error: ${error.message}`));
  client.onGap(({ channel }) => {
    if (channel === Channel.Chat) chat.note("Some messages sent while you were away could not be recovered.");
  });

  const notice = byId("notice", HTMLElement);
  const secretForm = byId("secret-form", HTMLFormElement);
  const secretInput = byId("secret-input", HTMLInputElement);
  const noticeText = byId("notice-text", HTMLElement);

  const enable = (access: "read-only" | "read-write", refused: boolean) => {
    writable = access === "read-write";
    chat.setWritable(writable);
    board.setWritable(writable);
    notice.hidden = writable;
    if (refused) noticeText.textContent = "That secret was refused. Paste the read-write secret rocket printed at start:";
    if (writable) {
      chat.join();
      board.hello();
    }
  };

  const start = async () => {
    const { access, refused } = config.token === undefined ? await authenticate(client, config.secret) : tokenAccess;
    await Promise.all([chat.enter(), client.subscribe(Channel.Positions)]);
    enable(access, refused);
  };
  start().catch((error: unknown) => chat.note(`Could not join: ${describe(error)}`));

  secretForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const secret = secretInput.value.trim();
    if (secret === "") return;
    authenticate(client, secret).then(
      ({ access, refused }) => {
        if (access === "read-write") history.replaceState(null, "", withSecret(window.location.hash, secret));
        enable(access, refused);
      },
      (error: unknown) => chat.note(`Could not authenticate: ${describe(error)}`),
    );
  });

  window.addEventListener("pagehide", () => {
    chat.leave();
    board.leave();
  });
}

/** The link's token allows both demo channels (see the gateway's start banner). */
const tokenAccess = { access: "read-write", refused: false } as const;

function describe(error: unknown): string {
  return error instanceof RocketError ? error.code : String(error);
}

main();
