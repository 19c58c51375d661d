import type { DecodeOptions } from "@rocket/protocol";
import type { SessionAudience } from "./audience.js";
import type { HistoryReader } from "./history-reader.js";
import type { Hub } from "./hub.js";
import type { PresenceReader } from "./presence-reader.js";
import type { Publisher } from "./publisher.js";
import type { RatePolicy, SessionLimits } from "./rate-limits.js";
import type { Subscriber } from "./subscriber.js";
import type { TokenVerifier } from "./token-verifier.js";

/** What the sessions of one hub share (one object per hub, not per connection). */
export interface SessionContext {
  readonly hub: Hub;
  readonly publisher: Publisher;
  readonly subscriber: Subscriber;
  /** Reads a channel's history for the `history` command. */
  readonly history: HistoryReader;
  readonly decodeOptions: DecodeOptions;
  /** Checks the hub's tokens; undefined: the hub takes none (token auth is invalid_credentials). */
  readonly tokens?: TokenVerifier | undefined;
  /** Per-connection abuse limits; undefined: none. */
  readonly limits?: SessionLimits | undefined;
  /** The rates of {@link limits}, worked out once for the hub; undefined: none. */
  readonly rates?: RatePolicy | undefined;
  /** Reads a channel's users for the `presence` command; undefined: every channel has none. */
  readonly presence?: PresenceReader | undefined;
  /** Learns which connections are whose (presence, disconnecting a user); undefined: nobody listens. */
  readonly audience?: SessionAudience | undefined;
}
