import { describe, expect, it, vi } from 'vitest';
import { createProgress } from '../../runner/progress.ts';

describe('progress (plain mode, as when stdout is not a TTY)', () => {
  it('prints periodic lines with count, percent, rate and ETA, and a final line', () => {
    vi.useFakeTimers();
    try {
      const lines: string[] = [];
      const p = createProgress({ label: 'describing', total: 100, unit: 'images', plain: true, intervalS: 1, write: (l) => lines.push(l) });
      p.tick(10);
      expect(lines).toHaveLength(0); // not before the interval
      vi.advanceTimersByTime(2000);
      p.tick(30, '2 retries');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^describing: 40\/100 images \(40%\), 20\.0 images\/s, 2\.0s ETA 3\.0s 2 retries$/);
      vi.advanceTimersByTime(3000);
      p.tick(60);
      p.done();
      p.done();
      expect(lines).toHaveLength(3);
      expect(lines[2]).toMatch(/^describing: 100\/100 images \(100%\), 20\.0 images\/s, 5\.0s/);
    } finally {
      vi.useRealTimers();
    }
  });
});
