import { randomUUID } from "node:crypto";
import { type Bus, BusUnavailableError, type NodeDirectory } from "@rocket/bus";
import type { Logger } from "pino";

/** Topic every node takes questions on. Hub topics start with `/`, so these never meet a hub's. */
export const surveyTopic = "~survey";
/** Topic a node takes the answers to its own questions on. */
export const answerTopic = (node: string) => `~answer:${node}`;

/** What a node can be asked. */
export type SurveyQuestion =
  | { readonly op: "channels"; readonly hub: string; readonly prefix: string }
  | { readonly op: "disconnect"; readonly hub: string; readonly user: string };

/** What a node answers; `unknown` is a hub it does not have. */
export type SurveyAnswer =
  | { readonly op: "channels"; readonly channels: readonly [string, number][] }
  | { readonly op: "disconnect"; readonly closed: number }
  | { readonly op: "unknown" };

interface Question {
  readonly id: string;
  readonly from: string;
  readonly q: SurveyQuestion;
}

interface Answer {
  readonly id: string;
  readonly node: string;
  readonly a: SurveyAnswer;
}

interface Asking {
  readonly expected: Set<string>;
  readonly answers: SurveyAnswer[];
  resolve(answers: SurveyAnswer[]): void;
  reject(err: Error): void;
  readonly timer: NodeJS.Timeout;
}

export interface SurveyDeps {
  readonly bus: Bus;
  readonly directory: NodeDirectory;
  /** Longest wait for every live node's answer. */
  readonly timeoutMs: number;
  /** This node's answer to a question. */
  readonly answer: (question: SurveyQuestion) => SurveyAnswer;
  readonly logger: Logger;
}

/**
 * Questions to every node of the cluster, over the bus itself: a question is published on
 * {@link surveyTopic}, which every node subscribes to; each node answers on the asker's
 * {@link answerTopic}. The asker knows which nodes are alive from their heartbeats and waits
 * for each one's answer, at most `timeoutMs`: a node that stays silent (it just died, and
 * its heartbeat has not expired yet) makes the question fail as `unavailable`, never a
 * silently partial answer.
 */
export interface Survey {
  /** Subscribes to the two topics, trying again until the bus takes them. */
  start(): void;
  /** Every live node's answer. Rejects with {@link BusUnavailableError}. */
  ask(question: SurveyQuestion): Promise<SurveyAnswer[]>;
  /** A message on a topic of this module, from the bus (fan-out passes on what is no hub's). */
  receive(topic: string, frame: Uint8Array): void;
  stop(): void;
}

/** How long a failed subscribe waits before it is tried again. */
const resubscribeMs = 250;

export function createSurvey(deps: SurveyDeps): Survey {
  const { bus, directory, logger } = deps;
  const self = directory.self;
  const mine = answerTopic(self);
  const asking = new Map<string, Asking>();
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;

  const subscribe = (topic: string): void => {
    if (stopped) return;
    bus.subscribe(topic).catch(() => {
      retry = setTimeout(() => subscribe(topic), resubscribeMs);
      retry.unref();
    });
  };

  const publish = (topic: string, message: Question | Answer): Promise<void> | undefined =>
    bus.publish(topic, Buffer.from(JSON.stringify(message), "utf8"));

  const settle = (id: string, outcome: { answers: SurveyAnswer[] } | { error: Error }): void => {
    const entry = asking.get(id);
    if (entry === undefined) return;
    asking.delete(id);
    clearTimeout(entry.timer);
    if ("answers" in outcome) entry.resolve(outcome.answers);
    else entry.reject(outcome.error);
  };

  const onQuestion = (question: Question): void => {
    let a: SurveyAnswer;
    try {
      a = deps.answer(question.q);
    } catch (err) {
      logger.error({ err }, "survey answer failed");
      return;
    }
    void publish(answerTopic(question.from), { id: question.id, node: self, a })?.catch((err: unknown) =>
      logger.debug({ err, what: "survey answer" }, "bus operation failed"),
    );
  };

  const onAnswer = (answer: Answer): void => {
    const entry = asking.get(answer.id);
    if (entry === undefined) return;
    entry.answers.push(answer.a);
    entry.expected.delete(answer.node);
    if (entry.expected.size === 0) settle(answer.id, { answers: entry.answers });
  };

  return {
    start() {
      subscribe(surveyTopic);
      subscribe(mine);
    },
    async ask(q) {
      const expected = new Set(await directory.alive());
      const id = randomUUID();
      const answered = new Promise<SurveyAnswer[]>((resolve, reject) => {
        const timer = setTimeout(() => {
          const silent = [...(asking.get(id)?.expected ?? [])];
          settle(id, { error: new BusUnavailableError(`no answer from ${silent.join(", ")} in ${deps.timeoutMs} ms`) });
        }, deps.timeoutMs);
        asking.set(id, { expected, answers: [], resolve, reject, timer });
      });
      try {
        await publish(surveyTopic, { id, from: self, q });
      } catch (err) {
        settle(id, { error: err instanceof Error ? err : new Error(String(err)) });
      }
      return answered;
    },
    receive(topic, frame) {
      let message: unknown;
      try {
        message = JSON.parse(Buffer.from(frame).toString("utf8"));
      } catch {
        return;
      }
      if (typeof message !== "object" || message === null) return;
      if (topic === surveyTopic && "q" in message) onQuestion(message as Question);
      else if (topic === mine && "a" in message) onAnswer(message as Answer);
    },
    stop() {
      stopped = true;
      clearTimeout(retry);
      for (const id of [...asking.keys()]) settle(id, { error: new BusUnavailableError("shutting down") });
    },
  };
}
