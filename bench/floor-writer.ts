/**
 * The floor server's writer thread (floor-server.ts): appends every message waiting for it in
 * one write, fdatasyncs it when asked to, and answers with the messages' ids.
 */
import { fdatasyncSync, openSync, writeSync } from "node:fs";
import { parentPort, receiveMessageOnPort, workerData } from "node:worker_threads";

type Message = { id: number; text: string };
const { path, fsync } = workerData as { path: string; fsync: boolean };
const fd = openSync(path, "a", 0o600);

parentPort!.on("message", (first: Message) => {
  const ids: number[] = [];
  let text = "";
  for (let m: Message | undefined = first; m !== undefined; m = receiveMessageOnPort(parentPort!)?.message as Message | undefined) {
    ids.push(m.id);
    text += m.text;
  }
  writeSync(fd, text);
  if (fsync) fdatasyncSync(fd);
  parentPort!.postMessage(ids);
});
