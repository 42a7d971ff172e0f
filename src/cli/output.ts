/**
 * A reader that goes away (`keyhold operations | head -5`) is an ordinary end, not a crash: stop
 * writing and leave quietly. The server keeps running when its output is gone.
 */
export function stopQuietlyOnClosedOutput(command: string | undefined): void {
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
    if (command !== "server") process.exit(0);
  });
}
