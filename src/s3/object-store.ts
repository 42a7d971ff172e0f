/**
 * Where encrypted object bytes live: one file per object version under <data-dir>/s3/objects,
 * written to a temporary name, fsynced and renamed, so a crash never leaves half an object
 * visible. Behind an interface, so another backend (another S3-compatible store) can hold the
 * encrypted bytes instead.
 */
import { mkdirSync } from "node:fs";
import { open, readdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";

export interface ObjectStore {
  /** Writes the stream to durable storage under `id` (a UUID); nothing is visible unless the whole stream was stored. */
  put(id: string, source: Readable): Promise<number>;
  /** Opens stored bytes for reading at offsets (a Range GET reads only what it needs). */
  open(id: string): Promise<StoredObject>;
  delete(id: string): Promise<void>;
  /** Every stored entry with its last change, and entries still being written (`partial`). */
  list(): Promise<StoredEntry[]>;
  /** Removes an entry `list` returned (a partial one by its name). */
  remove(entry: StoredEntry): Promise<void>;
}

export interface StoredEntry {
  /** The object id, or for a partial write its temporary name. */
  name: string;
  partial: boolean;
  modifiedAt: number;
}

export interface StoredObject {
  /** `length` bytes from `offset`, fewer only at the end of the stored bytes. */
  read(offset: number, length: number): Promise<Buffer>;
  close(): Promise<void>;
}

const ID = /^[0-9a-f-]{36}$/;
const WRITE_BATCH_BYTES = 1024 * 1024;
const SYNC_EVERY_BYTES = 8 * 1024 * 1024;

export class FileObjectStore implements ObjectStore {
  private readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, "s3", "objects");
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  private path(id: string): string {
    if (!ID.test(id)) throw new Error(`not an object id: ${id}`);
    return join(this.dir, id);
  }

  async put(id: string, source: Readable): Promise<number> {
    const path = this.path(id);
    const temp = join(this.dir, `.${id}.tmp`);
    const handle = await open(temp, "wx", 0o600);
    let bytes = 0;
    let closed = false;
    let flushing: Promise<void> | undefined;
    try {
      // Writes go out in batches of about 1 MiB; every 8 MiB a flush to disk starts beside them,
      // so the final fsync finds little left to do.
      let batch: Buffer[] = [];
      let batchBytes = 0;
      let unsynced = 0;
      const writeBatch = async () => {
        if (batchBytes === 0) return;
        await handle.writev(batch);
        bytes += batchBytes;
        unsynced += batchBytes;
        batch = [];
        batchBytes = 0;
        if (unsynced >= SYNC_EVERY_BYTES && !flushing) {
          unsynced = 0;
          flushing = handle.datasync().finally(() => (flushing = undefined));
          flushing.catch(() => undefined); // its failure surfaces where it is awaited
        }
      };
      for await (const chunk of source) {
        batch.push(chunk as Buffer);
        batchBytes += (chunk as Buffer).length;
        if (batchBytes >= WRITE_BATCH_BYTES) await writeBatch();
      }
      await writeBatch();
      await flushing;
      await handle.sync();
      await handle.close();
      closed = true;
      await rename(temp, path);
      const dir = await open(this.dir, "r");
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
      return bytes;
    } catch (error) {
      await flushing?.catch(() => undefined);
      if (!closed) await handle.close().catch(() => undefined);
      await rm(temp, { force: true });
      throw error;
    }
  }

  async open(id: string): Promise<StoredObject> {
    const handle = await open(this.path(id), "r");
    return {
      async read(offset: number, length: number): Promise<Buffer> {
        const buffer = Buffer.allocUnsafe(length);
        let filled = 0;
        while (filled < length) {
          const { bytesRead } = await handle.read(buffer, filled, length - filled, offset + filled);
          if (bytesRead === 0) break;
          filled += bytesRead;
        }
        return buffer.subarray(0, filled);
      },
      close: () => handle.close(),
    };
  }

  async list(): Promise<StoredEntry[]> {
    const entries: StoredEntry[] = [];
    for (const name of await readdir(this.dir)) {
      const partial = name.startsWith(".") && name.endsWith(".tmp");
      if (!partial && !ID.test(name)) continue;
      try {
        entries.push({ name, partial, modifiedAt: (await stat(join(this.dir, name))).mtimeMs });
      } catch {
        // Gone meanwhile.
      }
    }
    return entries;
  }

  async remove(entry: StoredEntry): Promise<void> {
    if (entry.partial && /^\.[0-9a-f-]{36}\.tmp$/.test(entry.name)) await rm(join(this.dir, entry.name), { force: true });
    else if (!entry.partial) await this.delete(entry.name);
  }

  async delete(id: string): Promise<void> {
    await rm(this.path(id), { force: true });
  }
}
