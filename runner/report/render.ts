/** Vega-Lite → SVG (vega's headless View, no canvas needed) and SVG → PNG (sharp). */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { VegaLiteSpec } from './plots.ts';

export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const compiled = compile(spec as unknown as TopLevelSpec).spec;
  // A loader that refuses every fetch: specs carry their data inline, the report stays offline.
  const loader = vega.loader();
  loader.load = async (uri: string) => {
    throw new Error(`report plots must not load external data (${uri})`);
  };
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', loader });
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
