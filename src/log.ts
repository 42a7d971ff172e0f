/** The server's log: one line per event to stderr. Never given key material, plaintext or secrets. */
export interface Logger {
  info(message: string): void;
  error(message: string): void;
}

export function consoleLogger(quiet = false): Logger {
  return {
    info: (m) => {
      if (!quiet) process.stderr.write(`${new Date().toISOString()} info ${m}\n`);
    },
    error: (m) => process.stderr.write(`${new Date().toISOString()} error ${m}\n`),
  };
}
