/**
 * HTTPS from certificate files: the operator's (KEYHOLD_TLS_CERT / KEYHOLD_TLS_KEY), or the
 * files an earlier keyhold made at first start under <data-dir>/tls (server.pem, server.key and
 * the CA that signed them, ca.pem), which such a data directory keeps serving. A new data
 * directory gets its certificate from a keyhold private CA instead (src/acm/local-tls.ts).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { TlsIdentity } from "./server.js";

export interface TlsFiles extends TlsIdentity {
  /** The CA certificate file clients trust, when keyhold made the certificate. */
  caFile?: string;
}

export interface TlsSource {
  dataDir: string;
  certFile?: string;
  keyFile?: string;
}

export function loadTls(source: TlsSource): TlsFiles {
  if (source.certFile !== undefined || source.keyFile !== undefined) {
    if (source.certFile === undefined || source.keyFile === undefined) throw new Error("KEYHOLD_TLS_CERT and KEYHOLD_TLS_KEY go together");
    return { cert: readFileSync(source.certFile, "utf8"), key: readFileSync(source.keyFile, "utf8") };
  }
  const dir = join(source.dataDir, "tls");
  const files = { caFile: join(dir, "ca.pem"), certFile: join(dir, "server.pem"), keyFile: join(dir, "server.key") };
  if (!existsSync(files.certFile) || !existsSync(files.keyFile)) throw new Error(`no HTTPS certificate in ${dir}`);
  return { cert: readFileSync(files.certFile, "utf8"), key: readFileSync(files.keyFile, "utf8"), caFile: files.caFile };
}
