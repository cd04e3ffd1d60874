/** A PNG contact sheet: sample images beside their descriptions (sharp + an SVG text layer). */
import type { OverlayOptions } from 'sharp';
import { sampleIndices } from './card.ts';
import type { Dataset, SplitName } from './types.ts';

const TILE = 112;
const TEXT_W = 420;
const PAD = 10;
const FONT = 12;
const LINE = 15;
const COLS = 2;
const HEADER = 30;

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function wrap(text: string, width: number, maxLines: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && (line + ' ' + word).length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  if (lines.length > maxLines) {
    lines.length = maxLines;
    lines[maxLines - 1] = lines[maxLines - 1].replace(/\s*\S*$/, ' …');
  }
  return lines;
}

export async function writeContactSheet(ds: Dataset, file: string, opts: { split?: SplitName; count?: number; title?: string } = {}): Promise<number> {
  const { default: sharp } = await import('sharp'); // loaded here, not at start-up: commands such as validate never decode an image
  const split = ds[opts.split ?? 'test'];
  const picks = sampleIndices(split.labels, ds.classNames.length, opts.count ?? 12);
  const [h, w, c] = ds.shape;
  const cellW = TILE + PAD + TEXT_W + PAD;
  const cellH = TILE + PAD;
  const rows = Math.ceil(picks.length / COLS);
  const width = COLS * cellW + PAD;
  const height = HEADER + rows * cellH + PAD;
  const chars = Math.floor(TEXT_W / (FONT * 0.55));
  const maxLines = Math.floor((TILE - LINE) / LINE);
  const svg: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${PAD}" y="20" font-family="DejaVu Sans, sans-serif" font-size="14" font-weight="bold" fill="#222">${escapeXml(opts.title ?? ds.dir)}</text>`,
  ];
  const tiles: OverlayOptions[] = [];
  for (let k = 0; k < picks.length; k++) {
    const i = picks[k];
    const x = PAD + (k % COLS) * cellW;
    const y = HEADER + Math.floor(k / COLS) * cellH;
    const pixels = split.images.subarray(i * h * w * c, (i + 1) * h * w * c);
    const input = await sharp(Buffer.from(pixels), { raw: { width: w, height: h, channels: c as 1 | 3 } })
      .resize(TILE, TILE, { kernel: Math.max(h, w) <= 64 ? 'nearest' : 'lanczos3', fit: 'contain', background: '#000' })
      .png()
      .toBuffer();
    tiles.push({ input, left: x, top: y });
    const tx = x + TILE + PAD;
    svg.push(`<text x="${tx}" y="${y + FONT}" font-family="DejaVu Sans, sans-serif" font-size="${FONT}" font-weight="bold" fill="#a33">${escapeXml(ds.classNames[split.labels[i]])}</text>`);
    wrap(split.texts[i], chars, maxLines).forEach((line, j) => {
      svg.push(`<text x="${tx}" y="${y + FONT + LINE * (j + 1)}" font-family="DejaVu Sans, sans-serif" font-size="${FONT}" fill="#222">${escapeXml(line)}</text>`);
    });
  }
  svg.push('</svg>');
  await sharp(Buffer.from(svg.join('\n'))).composite(tiles).png().toFile(file);
  return picks.length;
}
