/** Measurements of an RGB image: named colours, brightness, saturation, contrast, layout, texture. Pure. */

export const COLOUR_NAMES = ['black', 'dark grey', 'grey', 'white', 'red', 'orange', 'brown', 'yellow', 'green', 'teal', 'blue', 'purple', 'pink'] as const;
export type ColourName = (typeof COLOUR_NAMES)[number];

export interface ColourMeasures {
  shares: Record<ColourName, number>; // fraction of pixels per named colour
  brightness: number; // mean luma 0..1
  saturation: number; // mean HSV saturation 0..1
  contrast: number; // luma standard deviation 0..~0.5
  texture: number; // mean absolute luma difference between neighbours 0..1
  regions: { top: ColourName; bottom: ColourName; centre: ColourName; border: ColourName; left: ColourName; right: ColourName };
  centreBorderDistance: number; // RGB distance (0..1) between the mean colours of centre and border
  brightestRegion: 'top' | 'bottom' | 'left' | 'right' | 'centre';
}

/** Nearest colour name of one pixel (HSV rules; brown = dark orange/red). */
export function nameColour(r: number, g: number, b: number): ColourName {
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  const v = max / 255;
  const s = max === 0 ? 0 : (max - min) / max;
  if (v < 0.18) return 'black';
  if (s < 0.18 || (s < 0.3 && v < 0.35)) return v < 0.42 ? 'dark grey' : v < 0.78 ? 'grey' : 'white';
  let hDeg: number;
  const d = max - min;
  if (max === r) hDeg = (60 * ((g - b) / d) + 360) % 360;
  else if (max === g) hDeg = 60 * ((b - r) / d) + 120;
  else hDeg = 60 * ((r - g) / d) + 240;
  if (hDeg < 15 || hDeg >= 340) return v < 0.55 ? 'brown' : s < 0.45 && v > 0.7 ? 'pink' : 'red';
  if (hDeg < 42) return v < 0.6 ? 'brown' : 'orange';
  if (hDeg < 68) return v < 0.45 ? 'brown' : 'yellow';
  if (hDeg < 160) return 'green';
  if (hDeg < 195) return 'teal';
  if (hDeg < 255) return 'blue';
  if (hDeg < 290) return 'purple';
  return 'pink';
}

function dominant(counts: Float64Array): ColourName {
  let best = 0;
  for (let k = 1; k < counts.length; k++) if (counts[k] > counts[best]) best = k;
  return COLOUR_NAMES[best];
}

/** `pixels`: h*w*3 bytes. */
export function measureColours(pixels: Uint8Array, h: number, w: number): ColourMeasures {
  const K = COLOUR_NAMES.length;
  const index = new Map(COLOUR_NAMES.map((c, i) => [c, i]));
  const all = new Float64Array(K);
  const region = { top: new Float64Array(K), bottom: new Float64Array(K), centre: new Float64Array(K), border: new Float64Array(K), left: new Float64Array(K), right: new Float64Array(K) };
  const lumaSum = { top: 0, bottom: 0, left: 0, right: 0, centre: 0 };
  const lumaCount = { top: 0, bottom: 0, left: 0, right: 0, centre: 0 };
  const centreRgb = [0, 0, 0];
  const borderRgb = [0, 0, 0];
  let centreN = 0, borderN = 0;
  let lSum = 0, l2Sum = 0, sSum = 0, tex = 0, texN = 0;
  const n = h * w;
  const luma = new Float32Array(n);
  for (let y = 0, i = 0; y < h; y++) {
    for (let x = 0; x < w; x++, i++) {
      const r = pixels[3 * i], g = pixels[3 * i + 1], b = pixels[3 * i + 2];
      const l = (0.299 * r + 0.587 * g + 0.114 * b) / 255;
      luma[i] = l;
      lSum += l;
      l2Sum += l * l;
      const max = Math.max(r, g, b);
      sSum += max === 0 ? 0 : (max - Math.min(r, g, b)) / max;
      const k = index.get(nameColour(r, g, b))!;
      all[k]++;
      const inCentre = x >= w / 4 && x < (3 * w) / 4 && y >= h / 4 && y < (3 * h) / 4;
      if (y < h / 3) { region.top[k]++; lumaSum.top += l; lumaCount.top++; }
      if (y >= (2 * h) / 3) { region.bottom[k]++; lumaSum.bottom += l; lumaCount.bottom++; }
      if (x < w / 3) { region.left[k]++; lumaSum.left += l; lumaCount.left++; }
      if (x >= (2 * w) / 3) { region.right[k]++; lumaSum.right += l; lumaCount.right++; }
      if (inCentre) {
        region.centre[k]++; lumaSum.centre += l; lumaCount.centre++;
        centreRgb[0] += r; centreRgb[1] += g; centreRgb[2] += b; centreN++;
      } else if (x < w / 8 || x >= (7 * w) / 8 || y < h / 8 || y >= (7 * h) / 8) {
        region.border[k]++;
        borderRgb[0] += r; borderRgb[1] += g; borderRgb[2] += b; borderN++;
      }
      if (x > 0) { tex += Math.abs(l - luma[i - 1]); texN++; }
      if (y > 0) { tex += Math.abs(l - luma[i - w]); texN++; }
    }
  }
  const shares = {} as Record<ColourName, number>;
  COLOUR_NAMES.forEach((c, k) => (shares[c] = all[k] / n));
  const mean = lSum / n;
  let dist = 0;
  for (let c = 0; c < 3; c++) dist += (centreRgb[c] / Math.max(centreN, 1) - borderRgb[c] / Math.max(borderN, 1)) ** 2;
  const regionLuma = (Object.keys(lumaSum) as (keyof typeof lumaSum)[]).map((k) => ({ k, v: lumaSum[k] / Math.max(lumaCount[k], 1) }));
  regionLuma.sort((a, b) => b.v - a.v);
  return {
    shares,
    brightness: mean,
    saturation: sSum / n,
    contrast: Math.sqrt(Math.max(l2Sum / n - mean * mean, 0)),
    texture: texN ? tex / texN : 0,
    regions: {
      top: dominant(region.top),
      bottom: dominant(region.bottom),
      centre: dominant(region.centre),
      border: dominant(region.border),
      left: dominant(region.left),
      right: dominant(region.right),
    },
    centreBorderDistance: Math.sqrt(dist) / (255 * Math.sqrt(3)),
    brightestRegion: regionLuma[0].k,
  };
}
