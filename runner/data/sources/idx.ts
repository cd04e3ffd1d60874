/**
 * IDX files (the MNIST format): magic [0, 0, type, ndim], ndim big-endian uint32 sizes, then the
 * data. Only unsigned bytes (type 0x08) are images/labels in practice, so only those are accepted.
 */
import { createReadStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip, gunzipSync } from 'node:zlib';
import { MmrunError } from '../../errors.ts';
import type { RawImages } from '../types.ts';

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** Parses an IDX buffer; `file` names it in errors. */
export function parseIdx(buf: Uint8Array, file: string): IdxArray {
  if (buf.length < 4) throw new MmrunError(`${file}: not an IDX file: ${buf.length} bytes, expected at least a 4-byte header`);
  if (buf[0] !== 0 || buf[1] !== 0) {
    const magic = Buffer.from(buf.subarray(0, 4)).toString('hex');
    throw new MmrunError(`${file}: wrong magic number 0x${magic}: expected 0x0000080N (IDX of unsigned bytes, e.g. 0x00000803 for images, 0x00000801 for labels)`);
  }
  if (buf[2] !== 0x08) {
    throw new MmrunError(`${file}: IDX element type 0x${buf[2].toString(16).padStart(2, '0')} is not supported: expected 0x08 (unsigned bytes)`);
  }
  const ndim = buf[3];
  if (ndim < 1 || ndim > 4) throw new MmrunError(`${file}: IDX header says ${ndim} dimensions: expected 1 (labels) or 3 (images)`);
  const headerSize = 4 + 4 * ndim;
  if (buf.length < headerSize) throw new MmrunError(`${file}: truncated IDX header: ${buf.length} bytes, expected ${headerSize}`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dims: number[] = [];
  for (let d = 0; d < ndim; d++) dims.push(view.getUint32(4 + 4 * d, false));
  const expected = headerSize + dims.reduce((a, b) => a * b, 1);
  if (buf.length < expected) {
    throw new MmrunError(`${file}: truncated: ${buf.length} bytes, but its header (dims ${dims.join('×')}) needs ${expected}`);
  }
  if (buf.length > expected) {
    throw new MmrunError(`${file}: ${buf.length - expected} unexpected bytes after the data: header (dims ${dims.join('×')}) says ${expected} bytes in all`);
  }
  return { dims, data: buf.subarray(headerSize) };
}

/** Reads an IDX file, gunzipping it when it ends in .gz. */
export function readIdxFile(file: string): IdxArray {
  if (!existsSync(file)) throw new MmrunError(`${file}: file not found (expected an IDX file)`);
  let buf: Uint8Array = readFileSync(file);
  if (file.endsWith('.gz')) {
    try {
      buf = gunzipSync(buf);
    } catch (err) {
      throw new MmrunError(`${file}: not a valid gzip file (${(err as Error).message}); expected a gzipped IDX file`);
    }
  }
  return parseIdx(buf, file);
}

/**
 * Reads an IDX file as a stream, gunzipping on the fly when it ends in .gz: the data lands in
 * one buffer of exactly the size its header announces (no temporary copy of the whole file, no
 * file written). Same checks and messages as parseIdx.
 */
export async function readIdxFileStream(file: string): Promise<IdxArray> {
  if (!existsSync(file)) throw new MmrunError(`${file}: file not found (expected an IDX file)`);
  const raw = createReadStream(file);
  const stream: Readable = file.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  if (stream !== raw) raw.on('error', (err) => stream.destroy(err));
  let head = Buffer.alloc(0);
  let dims: number[] | undefined;
  let data: Uint8Array | undefined;
  let at = 0;
  let extra = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let c: Buffer = chunk;
      if (!data) {
        head = Buffer.concat([head, c]);
        if (head.length < 4) continue;
        const ndim = head[3];
        if (head[0] !== 0 || head[1] !== 0 || head[2] !== 0x08 || ndim < 1 || ndim > 4) parseIdx(head.subarray(0, 4), file); // throws the right message
        const headerSize = 4 + 4 * ndim;
        if (head.length < headerSize) continue;
        dims = [];
        for (let d = 0; d < ndim; d++) dims.push(head.readUInt32BE(4 + 4 * d));
        data = new Uint8Array(dims.reduce((a, b) => a * b, 1));
        c = head.subarray(headerSize);
      }
      const take = Math.min(c.length, data.length - at);
      data.set(c.subarray(0, take), at);
      at += take;
      extra += c.length - take;
    }
  } catch (err) {
    if (err instanceof MmrunError) throw err;
    throw new MmrunError(`${file}: ${file.endsWith('.gz') ? 'not a valid gzip file' : 'could not be read'} (${(err as Error).message})${file.endsWith('.gz') ? '; expected a gzipped IDX file' : ''}`);
  }
  if (!data || !dims) {
    const headerSize = head.length >= 4 ? 4 + 4 * head[3] : 4;
    if (head.length < 4) throw new MmrunError(`${file}: not an IDX file: ${head.length} bytes, expected at least a 4-byte header`);
    throw new MmrunError(`${file}: truncated IDX header: ${head.length} bytes, expected ${headerSize}`);
  }
  const headerSize = 4 + 4 * dims.length;
  if (at < data.length) throw new MmrunError(`${file}: truncated: ${headerSize + at} bytes, but its header (dims ${dims.join('×')}) needs ${headerSize + data.length}`);
  if (extra > 0) throw new MmrunError(`${file}: ${extra} unexpected bytes after the data: header (dims ${dims.join('×')}) says ${headerSize + data.length} bytes in all`);
  return { dims, data };
}

/** Class names from a labels file beside the IDX files (class-names.txt or labels.txt, one per line), if there is one. */
export function readClassNamesFile(dir: string): { file: string; names: string[] } | undefined {
  for (const name of ['class-names.txt', 'labels.txt']) {
    const file = join(dir, name);
    if (!existsSync(file)) continue;
    const lines = readFileSync(file, 'utf8').split(/\r?\n/);
    while (lines.length && lines[lines.length - 1].trim() === '') lines.pop();
    lines.forEach((l, i) => {
      if (l.trim() === '') throw new MmrunError(`${file}:${i + 1}:1: empty class name (expected one class name per line, line k naming label k-1)`);
    });
    if (lines.length === 0) throw new MmrunError(`${file}:1:1: no class names (expected one per line)`);
    return { file, names: lines.map((l) => l.trim()) };
  }
  return undefined;
}

/** readIdxPair with streamed reads (what sources use). */
export async function readIdxPairStream(imagesFile: string, labelsFile: string): Promise<{ raw: RawImages; height: number; width: number }> {
  return pairUp(await readIdxFileStream(imagesFile), await readIdxFileStream(labelsFile), imagesFile, labelsFile);
}

/** Pairs an images file with a labels file, checking shapes and counts. */
export function readIdxPair(imagesFile: string, labelsFile: string): { raw: RawImages; height: number; width: number } {
  return pairUp(readIdxFile(imagesFile), readIdxFile(labelsFile), imagesFile, labelsFile);
}

function pairUp(images: IdxArray, labels: IdxArray, imagesFile: string, labelsFile: string): { raw: RawImages; height: number; width: number } {
  if (images.dims.length !== 3) {
    throw new MmrunError(`${imagesFile}: expected an IDX image file with 3 dimensions (count×height×width), found ${images.dims.length} (${images.dims.join('×')})`);
  }
  if (labels.dims.length !== 1) {
    throw new MmrunError(`${labelsFile}: expected an IDX label file with 1 dimension, found ${labels.dims.length} (${labels.dims.join('×')})`);
  }
  const [count, height, width] = images.dims;
  if (labels.dims[0] !== count) {
    throw new MmrunError(`${labelsFile}: ${labels.dims[0]} labels, but ${imagesFile} has ${count} images: expected one label per image`);
  }
  return { raw: { images: images.data, labels: Int32Array.from(labels.data), count }, height, width };
}

const PATTERNS: Record<'trainImages' | 'trainLabels' | 'testImages' | 'testLabels', RegExp> = {
  trainImages: /^train-images[.-]idx3-ubyte(\.gz)?$/,
  trainLabels: /^train-labels[.-]idx1-ubyte(\.gz)?$/,
  testImages: /^(t10k|test)-images[.-]idx3-ubyte(\.gz)?$/,
  testLabels: /^(t10k|test)-labels[.-]idx1-ubyte(\.gz)?$/,
};

const DISPLAY: Record<keyof typeof PATTERNS, string> = {
  trainImages: 'train-images-idx3-ubyte[.gz]',
  trainLabels: 'train-labels-idx1-ubyte[.gz]',
  testImages: 't10k-images-idx3-ubyte[.gz]',
  testLabels: 't10k-labels-idx1-ubyte[.gz]',
};

/** Finds the four standard IDX files in a folder (names as in MNIST / Fashion-MNIST, gzipped or not). */
export function locateIdxFiles(dir: string): Record<keyof typeof PATTERNS, string> {
  if (!existsSync(dir)) throw new MmrunError(`dataset.path ${dir}: folder not found (expected the IDX files train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz])`);
  const names = readdirSync(dir).sort();
  const found = {} as Record<keyof typeof PATTERNS, string>;
  const missing: string[] = [];
  for (const [key, re] of Object.entries(PATTERNS) as [keyof typeof PATTERNS, RegExp][]) {
    const name = names.find((n) => re.test(n));
    if (name) found[key] = join(dir, name);
    else missing.push(DISPLAY[key]);
  }
  if (missing.length) throw new MmrunError(`dataset.path ${dir}: missing IDX file(s): ${missing.join(', ')}`);
  return found;
}
