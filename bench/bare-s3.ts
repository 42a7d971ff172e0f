/**
 * The transport S3 objects travel over, without keyhold: a bare node:http server that answers a
 * GET of /<bucket>/<key> with 64 MiB from memory and reads a PUT's body to the end, discarding it.
 * No signature check, no checksum, no encryption, no disk.
 */
import { createServer } from "node:http";
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";

const object = randomBytes(64 * 1024 * 1024);
const server = createServer((req, res) => {
  if (req.method === "GET") {
    res.writeHead(200, { "content-length": object.length, "content-type": "binary/octet-stream" });
    res.end(object);
    return;
  }
  req.on("data", () => undefined);
  req.on("end", () => {
    res.writeHead(200, { "content-length": 0, etag: '"0"' });
    res.end();
  });
});
server.listen(0, "127.0.0.1", () => process.stdout.write(`bare listening on ${(server.address() as AddressInfo).port}\n`));
