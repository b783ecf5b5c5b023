/**
 * Judging a fitted linear kernel on whole images: which border mode the targets were made with,
 * and the held-out metrics (over every pixel, border included, with the chosen border).
 */

import { BORDER_MODES, borderIndexTable, type BorderMode } from '../filters/border.js';
import { applyModel } from '../nn/apply.js';
import type { Model, ValidationMetrics } from '../nn/model.js';
import type { Region } from './regions.js';

export interface BorderChoice {
  chosen: BorderMode;
  candidates: { border: BorderMode; mse: number }[];
  borderPixels: number;
}

/**
 * Predicts every border pixel (one whose kh x kw window leaves the image) of the regions'
 * images under each border mode and keeps the mode with the lowest MSE against the targets.
 * The fit never saw these pixels (it uses the valid region only), so this is a fair test.
 * Modes within 1e-6 relative of the best (plus a rounding floor) tie, and a tie goes to
 * reflect101, OpenCV's default; the modes can tie exactly, e.g. for a 1-pixel-wide kernel row.
 * `weights` is [cout][cin][kh][kw] flat (float32 values), `bias` [cout] or null; `post` the
 * model's output stages after the conv (abs, clamp), applied to each prediction.
 */
export function chooseBorder(
  regions: Region[], weights: ArrayLike<number>, bias: ArrayLike<number> | null, cin: number, cout: number, kh: number, kw: number,
  post?: (v: number) => number,
): BorderChoice {
  const sse = new Float64Array(BORDER_MODES.length);
  let count = 0, power = 0;
  const ay = kh >> 1, ax = kw >> 1;
  for (const r of regions) {
    const { input, target } = r.pair;
    const W = input.width, H = input.height;
    const tables = BORDER_MODES.map((m) => ({ rows: borderIndexTable(H, ay, kh - 1 - ay, m), cols: borderIndexTable(W, ax, kw - 1 - ax, m) }));
    const interiorEnd = W - (kw - 1 - ax); // columns [ax, interiorEnd) see no border horizontally
    for (let y = r.y0; y < r.y1; y++) {
      const rowInside = y >= ay && y < H - (kh - 1 - ay);
      for (let x = r.x0; x < r.x1; x++) {
        if (rowInside && x >= ax && x < interiorEnd) {
          x = interiorEnd; // skip the row's interior
          if (x >= r.x1) break;
        }
        count += cout;
        for (let o = 0; o < cout; o++) {
          const tv = target.data[(o * H + y) * W + x];
          power += tv * tv;
          for (let m = 0; m < BORDER_MODES.length; m++) {
            const { rows, cols } = tables[m];
            let s = bias ? bias[o] : 0;
            for (let c = 0; c < cin; c++) {
              for (let i = 0; i < kh; i++) {
                const iy = rows[y + i];
                if (iy < 0) continue;
                const base = (c * H + iy) * W;
                const wb = ((o * cin + c) * kh + i) * kw;
                for (let j = 0; j < kw; j++) {
                  const ix = cols[x + j];
                  if (ix >= 0) s += weights[wb + j] * input.data[base + ix];
                }
              }
            }
            const d = (post ? post(s) : s) - tv;
            sse[m] += d * d;
          }
        }
      }
    }
  }
  if (count === 0) return { chosen: 'reflect101', candidates: BORDER_MODES.map((border) => ({ border, mse: 0 })), borderPixels: 0 };
  const candidates = BORDER_MODES.map((border, m) => ({ border, mse: sse[m] / count }));
  const bestMse = Math.min(...candidates.map((c) => c.mse));
  const tie = bestMse * (1 + 1e-6) + 1e-14 * (power / count);
  const tied = candidates.filter((c) => c.mse <= tie).map((c) => c.border);
  const chosen = tied.includes('reflect101') ? 'reflect101' : tied[0];
  return { chosen, candidates, borderPixels: count / cout };
}

/**
 * MSE, PSNR and R² of the model on the regions' pixels, the model run on each whole image (so
 * a band's pixels next to the cut see their real neighbours, and image borders use the model's
 * border mode). PSNR's peak is max |target| over the regions (1 if that is 0); psnr is null when
 * the MSE is 0. R² = 1 - SSE / SST with SST about each channel's mean over the regions.
 */
export function validationMetrics(model: Model, regions: Region[]): ValidationMetrics & { targetVaries: boolean } {
  const cout = model.outputChannels;
  let sse = 0, n = 0, peak = 0;
  const s1 = new Float64Array(cout), s2 = new Float64Array(cout), cn = new Float64Array(cout);
  for (const r of regions) {
    const pred = applyModel(model, r.pair.input);
    const { target } = r.pair;
    const W = target.width, H = target.height;
    for (let c = 0; c < cout; c++) {
      for (let y = r.y0; y < r.y1; y++) {
        const o = (c * H + y) * W;
        for (let x = r.x0; x < r.x1; x++) {
          const tv = target.data[o + x];
          const d = pred.data[o + x] - tv;
          sse += d * d;
          s1[c] += tv;
          s2[c] += tv * tv;
          cn[c]++;
          peak = Math.max(peak, Math.abs(tv));
        }
      }
    }
    n += (r.x1 - r.x0) * (r.y1 - r.y0) * cout;
  }
  let sst = 0;
  for (let c = 0; c < cout; c++) if (cn[c] > 0) sst += Math.max(0, s2[c] - (s1[c] * s1[c]) / cn[c]);
  const mse = n > 0 ? sse / n : 0;
  const p = peak > 0 ? peak : 1;
  return {
    mse,
    psnr: mse > 0 ? 10 * Math.log10((p * p) / mse) : null,
    r2: sst > 0 ? 1 - sse / sst : sse === 0 ? 1 : 0,
    targetVaries: sst > 0, // R² means something only then
  };
}
