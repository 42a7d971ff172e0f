#!/usr/bin/env -S node --max-semi-space-size=8
/**
 * The `keyhold` command. The shebang gives the process SERVER_NODE_FLAGS (src/cli/server.ts; a
 * test checks they agree): they must be node's own flags, set before V8 starts.
 */
import { ConfigError } from "../config.js";
import { KeyStoreError } from "../keystore/software.js";
import { stopQuietlyOnClosedOutput } from "./output.js";

/**
 * The audit commands load only the audit modules: `audit export` and `audit verify` are meant to
 * run in constant memory, and the server's modules (every service's operations, the HTTP layer)
 * were a third of their resident memory. Every other command loads them all (commands.js).
 */
async function main(argv: string[]): Promise<number> {
  if (argv[0] === "audit") {
    stopQuietlyOnClosedOutput(argv[0]);
    const { runAudit } = await import("./audit.js");
    return runAudit(argv.slice(1));
  }
  const commands = await import("./commands.js");
  return commands.main(argv);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  async (error: unknown) => {
    const errno = error as NodeJS.ErrnoException & { address?: string; port?: number };
    if (error instanceof ConfigError || error instanceof KeyStoreError) {
      process.stderr.write(`keyhold: ${error.message}\n`);
    } else if (errno?.syscall === "listen" && errno.port !== undefined) {
      // Taken between the check and the listen (or a TLS port): still one line.
      const { listenFailure } = await import("./server.js");
      process.stderr.write(`keyhold: ${listenFailure(errno, errno.address ?? "", errno.port)}\n`);
    } else {
      process.stderr.write(`keyhold: ${(error as Error)?.stack ?? String(error)}\n`);
    }
    process.exitCode = 1;
  },
);
