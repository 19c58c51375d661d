/** The server a single-node scenario runs against: the first URL given. */
export function firstUrl(urls: readonly string[]): string {
  const [url] = urls;
  if (url === undefined) throw new Error("the scenario needs a server URL");
  return url;
}
