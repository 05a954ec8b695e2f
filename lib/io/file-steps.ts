/**
 * File access for the checkpoint code, written once for both the sync and the async
 * API: the format code is a generator that yields what it wants (a read at a position,
 * or bytes to append) and these drivers carry it out with fs or fs.promises.
 *
 * Writes go to a temporary file in the target's directory, which is fsync'd and then
 * renamed over the target, so a failure at any point leaves the old file whole and
 * removes the temporary one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { CorruptFileError } from '../errors';

export interface ReadRequest {
  position: number;
  length: number;
}

/** A reader: yields requests, receives the bytes (a fresh, aligned Uint8Array each), returns its result. */
export type ReadSteps<R> = Generator<ReadRequest, R, Uint8Array>;

/** A writer: yields the file's bytes in order. */
export type WriteSteps = Generator<Uint8Array, void, void>;

const CHUNK = 1 << 30; // one read or write call moves at most 1 GiB

function shortRead(op: string, file: string, req: ReadRequest, got: number): CorruptFileError {
  return new CorruptFileError(
    `${op}: ${file} ended after ${req.position + got} bytes while ${req.length} bytes at offset ${req.position} were read (was it changed while loading?)`,
  );
}

export function readSync<R>(op: string, file: string, steps: (size: number) => ReadSteps<R>): R {
  const fd = fs.openSync(file, 'r');
  try {
    const gen = steps(fs.fstatSync(fd).size);
    let next = gen.next();
    while (!next.done) {
      const req = next.value;
      const buf = new Uint8Array(req.length);
      let got = 0;
      while (got < req.length) {
        const n = fs.readSync(fd, buf, got, Math.min(CHUNK, req.length - got), req.position + got);
        if (n === 0) break;
        got += n;
      }
      next = got < req.length ? gen.throw(shortRead(op, file, req, got)) : gen.next(buf);
    }
    return next.value;
  } finally {
    fs.closeSync(fd);
  }
}

export async function readAsync<R>(op: string, file: string, steps: (size: number) => ReadSteps<R>): Promise<R> {
  const handle = await fs.promises.open(file, 'r');
  try {
    const gen = steps((await handle.stat()).size);
    let next = gen.next();
    while (!next.done) {
      const req = next.value;
      const buf = new Uint8Array(req.length);
      let got = 0;
      while (got < req.length) {
        const { bytesRead } = await handle.read(buf, got, Math.min(CHUNK, req.length - got), req.position + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      next = got < req.length ? gen.throw(shortRead(op, file, req, got)) : gen.next(buf);
    }
    return next.value;
  } finally {
    await handle.close();
  }
}

function tempName(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/** Makes the rename durable where the platform allows fsync on a directory (not Windows). */
function syncDirSync(dir: string): void {
  let fd = -1;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // best effort: the data itself was fsync'd before the rename
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
}

export function writeAtomicSync(target: string, steps: WriteSteps): void {
  const tmp = tempName(target);
  let fd: number | null = fs.openSync(tmp, 'wx');
  try {
    for (const chunk of steps) {
      let done = 0;
      while (done < chunk.byteLength) {
        done += fs.writeSync(fd, chunk, done, Math.min(CHUNK, chunk.byteLength - done));
      }
    }
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
    fs.renameSync(tmp, target);
  } catch (err) {
    if (fd !== null) {
      try {
        fs.closeSync(fd);
      } catch {
        // already failing; the original error is the one to report
      }
    }
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  syncDirSync(path.dirname(target));
}

export async function writeAtomic(target: string, steps: WriteSteps): Promise<void> {
  const tmp = tempName(target);
  let handle: fs.promises.FileHandle | null = await fs.promises.open(tmp, 'wx');
  try {
    for (const chunk of steps) {
      let done = 0;
      while (done < chunk.byteLength) {
        const { bytesWritten } = await handle.write(chunk, done, Math.min(CHUNK, chunk.byteLength - done));
        done += bytesWritten;
      }
    }
    await handle.sync();
    await handle.close();
    handle = null;
    await fs.promises.rename(tmp, target);
  } catch (err) {
    if (handle !== null) await handle.close().catch(() => undefined);
    await fs.promises.rm(tmp, { force: true });
    throw err;
  }
  syncDirSync(path.dirname(target));
}
