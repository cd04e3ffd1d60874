import { closeSync, openSync, readSync } from 'node:fs';
import { createHash } from 'node:crypto';

const CHUNK = 1 << 20;

/** SHA-256 (hex) of a file, read in 1 MiB chunks: memory stays flat whatever the file's size. */
export function sha256File(file: string): { sha256: string; size: number } {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(CHUNK);
  const fd = openSync(file, 'r');
  let size = 0;
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) break;
      hash.update(n === CHUNK ? buf : buf.subarray(0, n));
      size += n;
    }
  } finally {
    closeSync(fd);
  }
  return { sha256: hash.digest('hex'), size };
}

export function sha256Bytes(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
