import { Agent, request } from "node:http";

/** Where and how publishers POST: the API's base URL (http://host:port), its key, the hub. */
export interface HttpPublishTarget {
  /** Base URL of the API; undefined: the publisher's own WebSocket URL, as http. */
  readonly url: string | undefined;
  readonly apiKey: string;
  readonly hub: string;
}

/**
 * One publisher's messages sent as `POST /api/publish`, as a backend would: over one HTTP
 * connection kept alive, one request at a time (HTTP/1.1 without pipelining), so that its
 * messages keep their order. The body carries the same stamped data as a WebSocket publish
 * (`{"p":"…","s":SEQ,"t":MICROS}`), so subscribers measure both alike.
 */
export class HttpPublisher {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });
  private readonly base: URL;
  private readonly prefix: string;
  private readonly suffix: string;
  private readonly headers: Record<string, string>;

  constructor(
    target: HttpPublishTarget,
    wsUrl: URL,
    channel: string,
    event: string,
    payloadBytes: number,
    private readonly onReply: (ok: boolean, text: string) => void,
  ) {
    this.base = new URL(target.url ?? `http://${wsUrl.host}`);
    const pad = Math.max(0, payloadBytes - 36);
    this.prefix = `{"hub":${JSON.stringify(target.hub)},"channel":${JSON.stringify(channel)},"event":${JSON.stringify(event)},"data":{"p":"${"x".repeat(pad)}","s":`;
    this.suffix = "}}";
    this.headers = { authorization: `Bearer ${target.apiKey}`, "content-type": "application/json" };
  }

  /** Sends message `seq` stamped `sentAtUs`; the reply comes to `onReply`, in order. */
  publish(seq: number, sentAtUs: number): void {
    const body = `${this.prefix}${seq},"t":${sentAtUs}${this.suffix}`;
    const req = request(
      {
        agent: this.agent,
        method: "POST",
        host: this.base.hostname,
        port: this.base.port,
        path: "/api/publish",
        headers: { ...this.headers, "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          text += chunk;
        });
        res.on("end", () => this.onReply(res.statusCode === 200, text));
      },
    );
    req.on("error", (err) => this.onReply(false, err.message));
    req.end(body);
  }

  close(): void {
    this.agent.destroy();
  }
}
