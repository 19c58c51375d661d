import { ClientErrorCode, RocketError } from "./errors.js";
import { Listeners } from "./listeners.js";

/** Where a client's errors that belong to no request go: its error listeners, or thrown when there are none. */
export class ErrorReporter {
  readonly listeners = new Listeners<RocketError>();

  /** A handler (message, state, recovery listener) threw. */
  handlerFailed(cause: unknown): void {
    this.report(new RocketError(ClientErrorCode.HandlerFailed, "a handler threw", { cause }));
  }

  report(error: RocketError): void {
    const rethrow = (thrown: unknown) =>
      queueMicrotask(() => {
        throw thrown;
      });
    if (this.listeners.size === 0) rethrow(error);
    else this.listeners.emit(error, rethrow);
  }
}
