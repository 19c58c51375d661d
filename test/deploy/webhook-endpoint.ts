import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/** A local webhook endpoint whose answer can be switched between failing and accepting. */
export interface WebhookEndpoint {
  /** `http://127.0.0.1:<port>/hooks`, the gateways' `Webhooks.Url`. */
  readonly url: string;
  /** POSTs answered, by status. */
  readonly answered: ReadonlyMap<number, number>;
  /** The status the next POSTs get. */
  answer(status: number): void;
  close(): Promise<void>;
}

/** Starts an endpoint on 127.0.0.1 and a free port, answering every POST with `status`. */
export async function startWebhookEndpoint(status: number): Promise<WebhookEndpoint> {
  let current = status;
  const answered = new Map<number, number>();
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      answered.set(current, (answered.get(current) ?? 0) + 1);
      res.writeHead(current, { "content-type": "text/plain" }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    answered,
    answer: (s) => {
      current = s;
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
