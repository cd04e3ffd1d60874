/** Vega-Lite → SVG (vega's headless View, no canvas needed) and SVG → PNG (sharp). */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { VegaLiteSpec } from './plots.ts';

/** Report plots carry their data inline: a `url` anywhere would make the report fetch. */
function assertNoUrl(value: unknown, path = 'spec'): void {
  if (Array.isArray(value)) value.forEach((v, i) => assertNoUrl(v, `${path}[${i}]`));
  else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'url') throw new Error(`report plots must not load external data (${path}.url = ${JSON.stringify(v)})`);
      assertNoUrl(v, `${path}.${k}`);
    }
  }
}

export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  assertNoUrl(spec);
  const compiled = compile(spec as unknown as TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export async function svgToPng(svg: string, file: string, scale = 2): Promise<void> {
  const { default: sharp } = await import('sharp');
  await sharp(Buffer.from(svg), { density: 72 * scale }).png().toFile(file);
}
