/**
 * Four LookupEvents clients back to back, in a process of their own (bench/scale.ts starts it), so
 * that parsing their answers does not slow the process that times Encrypt. Arguments: port,
 * seconds, the queries as JSON. Prints how many lookups were made.
 */
import { CloudTrailClient, LookupEventsCommand, type LookupEventsCommandInput } from "@aws-sdk/client-cloudtrail";
import { ACCESS_KEY_ID, SECRET } from "./servers.js";

const [port, seconds, queries] = [
  Number(process.argv[2]),
  Number(process.argv[3]),
  JSON.parse(process.argv[4]!) as LookupEventsCommandInput[],
];
const client = new CloudTrailClient({
  endpoint: `http://127.0.0.1:${port}`,
  region: "us-east-1",
  credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET },
});
const deadline = performance.now() + seconds * 1000;
let lookups = 0;
await Promise.all(
  Array.from({ length: 4 }, async (_, i) => {
    while (performance.now() < deadline) {
      const q = queries[(i + lookups) % queries.length]!;
      await client.send(
        new LookupEventsCommand({ ...q, StartTime: q.StartTime && new Date(q.StartTime), EndTime: q.EndTime && new Date(q.EndTime) }),
      );
      lookups++;
    }
  }),
);
client.destroy();
process.stdout.write(`${lookups}\n`);
