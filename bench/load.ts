/**
 * A light load generator: `connections` keep-alive sockets, each sending one pre-built HTTP/1.1
 * request, waiting for the whole response, and sending the next, for a fixed time. Requests are
 * bytes prepared in advance, so generating load costs little CPU and costs the same for every
 * server measured.
 */
import { connect, type Socket } from "node:net";

export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
  p50ms: number;
  p99ms: number;
  /** Every request's latency (ms), sorted: what merging slices needs. */
  latencies: number[];
}

function summary(latencies: number[], errors: number, seconds: number): LoadResult {
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? NaN;
  return { requests: latencies.length, errors, seconds, rps: latencies.length / seconds, p50ms: pct(0.5), p99ms: pct(0.99), latencies };
}

/** Several measurements of one server taken as one: total requests over total time. */
export function mergeLoads(results: readonly LoadResult[]): LoadResult {
  return summary(
    results.flatMap((r) => r.latencies),
    results.reduce((n, r) => n + r.errors, 0),
    results.reduce((n, r) => n + r.seconds, 0),
  );
}

/**
 * Measures servers in alternating slices (a, b, c, a, b, c, …) of `seconds / slices` each, and
 * merges each one's slices. A machine whose speed drifts (a shared virtual machine) then slows
 * every side alike, and their ratios hold still where back-to-back runs would not.
 */
export async function compareLoads(
  targets: readonly { port: number; request: Buffer }[],
  connections: number,
  seconds: number,
  slices = 5,
): Promise<LoadResult[]> {
  const runs: LoadResult[][] = targets.map(() => []);
  for (let i = 0; i < slices; i++) {
    for (const [t, target] of targets.entries()) {
      runs[t]!.push(await runLoad("127.0.0.1", target.port, target.request, connections, seconds / slices));
    }
  }
  return runs.map(mergeLoads);
}

export async function runLoad(host: string, port: number, request: Buffer, connections: number, seconds: number): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  let statusSample = "";
  const deadline = performance.now() + seconds * 1000;
  const start = performance.now();
  await Promise.all(
    Array.from(
      { length: connections },
      () =>
        new Promise<void>((resolve, reject) => {
          const socket: Socket = connect({ host, port, noDelay: true });
          let buffer: Buffer = Buffer.alloc(0);
          let sentAt = 0;
          const sendOne = () => {
            if (performance.now() >= deadline) {
              socket.end();
              resolve();
              return;
            }
            sentAt = performance.now();
            socket.write(request);
          };
          socket.on("connect", sendOne);
          socket.on("error", reject);
          socket.on("data", (chunk: Buffer) => {
            buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
            for (;;) {
              const headerEnd = buffer.indexOf("\r\n\r\n");
              if (headerEnd < 0) return;
              const head = buffer.subarray(0, headerEnd).toString("latin1");
              const m = /\r\ncontent-length: *(\d+)/i.exec(head);
              const length = m ? Number(m[1]) : 0;
              if (buffer.length < headerEnd + 4 + length) return;
              const status = head.slice(9, 12);
              if (status !== "200") {
                errors++;
                statusSample ||= buffer.subarray(0, headerEnd + 4 + length).toString("utf8");
              }
              buffer = buffer.subarray(headerEnd + 4 + length);
              latencies.push(performance.now() - sentAt);
              sendOne();
            }
          });
        }),
    ),
  );
  const elapsed = (performance.now() - start) / 1000;
  if (errors > 0) process.stderr.write(`  ${errors} non-200 responses, e.g.:\n${statusSample}\n`);
  return summary(latencies, errors, elapsed);
}
