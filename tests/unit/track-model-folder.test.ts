// `mmrun predict` on a damaged or partly downloaded model folder: a message naming the file, never a stack trace.
import { describe, expect, it } from 'vitest';
import { locateModel } from '../../runner/track/model-folder.ts';
import { MmrunError } from '../../runner/errors.ts';
import { tempFiles } from '../helpers/tmp.ts';

describe('locating a downloaded model folder', () => {
  it.each(['config.json', 'dataset.json'])('a truncated %s is an MmrunError naming it', (name) => {
    const files: Record<string, string> = { 'checkpoint/checksums.json': '{}', 'config.json': '{}', 'dataset.json': '{}', 'tokenizer.json': '{}' };
    files[name] = '{"trunc';
    const t = tempFiles(files);
    expect(() => locateModel(t.dir, t.dir)).toThrow(MmrunError);
    expect(() => locateModel(t.dir, t.dir)).toThrow(`${t.path(name)} is not valid JSON (is the download complete?)`);
  });

  it('a missing file says which', () => {
    const t = tempFiles({ 'checkpoint/checksums.json': '{}', 'config.json': '{}', 'tokenizer.json': '{}' });
    expect(() => locateModel(t.dir, t.dir)).toThrow(/has no dataset\.json \(is the download complete\?\)/);
  });
});
