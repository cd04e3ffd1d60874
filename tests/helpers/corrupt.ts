/** The three ways a file at rest goes bad in the fault campaign: zero-filled, truncated, one byte flipped. */
import { readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';

export type Corruption = 'zero-fill' | 'truncate' | 'flip';
export const CORRUPTIONS: Corruption[] = ['zero-fill', 'truncate', 'flip'];

export function corrupt(file: string, how: Corruption): void {
  const size = statSync(file).size;
  if (size === 0) throw new Error(`corrupt(${file}): the file is empty, nothing to corrupt`);
  if (how === 'zero-fill') writeFileSync(file, Buffer.alloc(size));
  else if (how === 'truncate') truncateSync(file, Math.floor(size / 2));
  else {
    const bytes = readFileSync(file);
    const at = Math.floor(size / 2);
    bytes[at] ^= 0x01; // the smallest change: one bit of one byte
    writeFileSync(file, bytes);
  }
}
