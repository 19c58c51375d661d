import type { Reporter, SerializedError, TestCase, TestModule, TestRunEndReason, TestSuite } from "vitest/node";

/** What the summary line counts. */
export interface Summary {
  passed: number;
  /** Everything that made the run fail; never 0 when vitest failed. */
  failed: number;
  skipped: number;
  /** Of `failed`: errors outside any test (a hook, a file that did not load), and unhandled errors. */
  hookOrFileErrors: number;
  unhandledErrors: number;
}

/**
 * Counts a run. A test that did not run because a `beforeAll` of its file or suite failed
 * is a failure, not a skip; a file or suite error that no test carries (an `afterAll`, an
 * import that threw) is a failure; every unhandled error is a failure; and a run vitest
 * calls failed has at least one.
 */
export function summarize(
  modules: ReadonlyArray<TestModule>,
  unhandled: ReadonlyArray<SerializedError>,
  reason: TestRunEndReason,
): Summary {
  const summary: Summary = { passed: 0, failed: 0, skipped: 0, hookOrFileErrors: 0, unhandledErrors: unhandled.length };
  for (const module of modules) {
    for (const test of module.children.allTests()) {
      const state = test.result().state;
      if (state === "passed") summary.passed++;
      else if (state === "failed" || (state === "skipped" && wasMeantToRun(test))) summary.failed++;
      else summary.skipped++;
    }
    for (const suite of [module, ...module.children.allSuites()]) {
      // An error of a suite whose tests could not run is already counted through them.
      if (suite.errors().length > 0 && !hasTestsThatDidNotRun(suite)) summary.hookOrFileErrors += suite.errors().length;
    }
  }
  summary.failed += summary.hookOrFileErrors + summary.unhandledErrors;
  if (reason !== "passed" && summary.failed === 0) summary.failed = 1;
  return summary;
}

/** Skipped although neither it nor a suite around it was marked skip or todo: a hook before it failed. */
function wasMeantToRun(test: TestCase): boolean {
  if (test.options.mode !== "run") return false;
  for (let parent: TestSuite | TestModule = test.parent; ; parent = parent.parent) {
    if (parent.state() === "failed") return true;
    if (parent.type === "module") return false;
  }
}

function hasTestsThatDidNotRun(suite: TestSuite | TestModule): boolean {
  for (const test of suite.children.allTests()) if (test.result().state === "skipped" && wasMeantToRun(test)) return true;
  return false;
}

/** The summary as one line; the parenthesis says what failed outside tests, when anything did. */
export function summaryLine(s: Summary, reason: TestRunEndReason): string {
  const outside = [
    s.hookOrFileErrors > 0 ? `${s.hookOrFileErrors} hook or file error${s.hookOrFileErrors === 1 ? "" : "s"}` : "",
    s.unhandledErrors > 0 ? `${s.unhandledErrors} unhandled error${s.unhandledErrors === 1 ? "" : "s"}` : "",
    reason === "interrupted" ? "run interrupted" : "",
  ].filter((part) => part !== "");
  const detail = outside.length > 0 ? ` (${outside.join(", ")})` : "";
  return `Tests: ${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped${detail}`;
}

/**
 * Ends the run with one plain line, `Tests: N passed, N failed, N skipped`, that any CI log
 * reader understands, after vitest's own summary.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandled: ReadonlyArray<SerializedError>, reason: TestRunEndReason): void {
    process.stdout.write(`\n${summaryLine(summarize(modules, unhandled, reason), reason)}\n`);
  }
}
