import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Files of a test certificate authority and a server certificate it signed. */
export interface TestCerts {
  readonly dir: string;
  /** The CA's certificate (PEM): what clients trust. */
  readonly caFile: string;
  /** The server's certificate (PEM), for localhost and 127.0.0.1. */
  readonly certFile: string;
  /** The server's private key (PEM). */
  readonly keyFile: string;
}

/**
 * Makes a fresh CA and a server certificate for `localhost` and `127.0.0.1` with openssl, in
 * a temporary directory: P-256 keys (quick to generate), valid for two days.
 */
export async function makeCerts(): Promise<TestCerts> {
  const dir = mkdtempSync(join(tmpdir(), "rocket-tls-"));
  const at = (name: string) => join(dir, name);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await run("openssl", [
    "req",
    "-x509",
    ...ec,
    "-keyout",
    at("ca.key"),
    "-out",
    at("ca.pem"),
    "-days",
    "2",
    "-subj",
    "/CN=Rocket test CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  await run("openssl", ["req", ...ec, "-keyout", at("server.key"), "-out", at("server.csr"), "-subj", "/CN=localhost"]);
  writeFileSync(
    at("server.ext"),
    "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
  );
  await run("openssl", [
    "x509",
    "-req",
    "-in",
    at("server.csr"),
    "-CA",
    at("ca.pem"),
    "-CAkey",
    at("ca.key"),
    "-CAcreateserial",
    "-out",
    at("server.pem"),
    "-days",
    "2",
    "-extfile",
    at("server.ext"),
  ]);
  return { dir, caFile: at("ca.pem"), certFile: at("server.pem"), keyFile: at("server.key") };
}
