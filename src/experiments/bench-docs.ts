/**
 * The generated sections that come from the benches' run records (bench/record.ts): Q4 of
 * docs/answers.md (how frameworks compute a convolution, measured; the baselines), the tables of
 * docs/performance.md and README.md's figures. Each renderer reads one record under docs/records/
 * and writes every number of its section, so prose and table cannot drift apart; answers-doc.ts
 * spreads BENCH_SECTIONS into its SECTIONS, and `node tools/answers-doc.mjs` rewrites them.
 */
import { benchWhere, type BenchRecord, type RunRecord } from './record.js';
import { markdownTable } from './types.js';

/** Milliseconds as the docs print them: three significant digits, no more than one decimal above 10. */
export function ms(v: number): string {
  if (!Number.isFinite(v)) return '-';
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}
/** A ratio: two decimals below 10, one above. */
export const times = (v: number): string => `${v >= 10 ? v.toFixed(1) : v.toFixed(2)}x`;
const lo = (xs: number[]): number => Math.min(...xs);
const hi = (xs: number[]): number => Math.max(...xs);
/** "a-b" of ratios, or one figure when they print alike. */
const ratioRange = (xs: number[]): string => (times(lo(xs)) === times(hi(xs)) ? times(lo(xs)) : `${times(lo(xs)).slice(0, -1)}-${times(hi(xs))}`);

// ---- the convolution algorithms (bench/conv-bench.ts) ------------------------------------------

interface Timing { ms: number; times: number[] }
export interface ConvAlgos {
  side: number;
  ksizes: number[];
  ours: Record<string, { oneThread: Timing; twoThreads: Timing }>;
  python: { numpy: string; scipy: string; torch: string; opencv: string; results: Record<string, Record<string, (Timing & { relErr: number }) | number>> } | null;
}

/** The Python side's methods (their names as py_bench.py gives them) and the short names of the table. */
export const CONV_METHODS: { key: string; short: string; family: 'im2col' | 'fft' | 'direct' }[] = [
  { key: 'im2col + GEMM (numpy, OpenBLAS)', short: 'im2col + GEMM (numpy)', family: 'im2col' },
  { key: 'torch conv2d, ATen im2col + GEMM', short: 'torch, ATen im2col + GEMM', family: 'im2col' },
  { key: 'torch conv2d, oneDNN', short: 'torch, oneDNN', family: 'direct' },
  { key: 'cv2.filter2D (direct below 13x13, DFT from it)', short: 'cv2.filter2D (direct, DFT from 13x13)', family: 'direct' },
  { key: 'FFT (scipy.signal.fftconvolve)', short: 'FFT (scipy fftconvolve)', family: 'fft' },
  { key: 'FFT overlap-add (scipy.signal.oaconvolve)', short: 'FFT overlap-add (scipy oaconvolve)', family: 'fft' },
];

/** OpenCV's filter2D switches to its DFT at this kernel area for float32 on SSE3 machines (filter.dispatch.cpp, dft_filter_size). */
export const CV_DFT_AREA = 130;

/** Each kernel size's times by method (1 thread), ours included as 'ours'. */
export function convTimes(r: ConvAlgos): { k: number; t: Record<string, number> }[] {
  return r.ksizes.map((k) => {
    const t: Record<string, number> = { ours: r.ours[k].oneThread.ms };
    for (const m of CONV_METHODS) {
      const v = r.python?.results[k]?.[m.key];
      if (v && typeof v !== 'number') t[m.key] = v.ms;
    }
    return { k, t };
  });
}

/** The fastest FFT's time at one size (Infinity when none ran). */
const fftMs = (t: Record<string, number>): number => lo(CONV_METHODS.filter((m) => m.family === 'fft').map((m) => t[m.key] ?? Infinity));

/**
 * The smallest kernel size from which the FFT beats our direct loop at that size and every larger
 * one measured (null when it never does), and the size before it.
 */
export function fftCrossover(r: ConvAlgos): { from: number; before: number | null } | null {
  const rows = convTimes(r);
  let at: number | null = null;
  for (let i = rows.length - 1; i >= 0 && fftMs(rows[i].t) < rows[i].t.ours; i--) at = i;
  return at === null ? null : { from: rows[at].k, before: at > 0 ? rows[at - 1].k : null };
}

/** The Q4 table: one row per kernel size, one column per method, the fastest named. */
export function convTable(r: ConvAlgos): string {
  const methods = CONV_METHODS.filter((m) => r.python?.results[r.ksizes[0]]?.[m.key]);
  const head = ['kernel', 'ours, SIMD direct', ...methods.map((m) => m.short), 'fastest', 'ours on 2 threads'];
  const rows = convTimes(r).map(({ k, t }) => {
    const names: Record<string, string> = { ours: 'ours', ...Object.fromEntries(methods.map((m) => [m.key, m.short])) };
    const best = Object.entries(t).reduce((a, b) => (b[1] < a[1] ? b : a));
    return [`${k}x${k}`, ms(t.ours), ...methods.map((m) => ms(t[m.key] ?? NaN)), names[best[0]].replace(/ \(.*\)$/, ''), ms(r.ours[k].twoThreads.ms)];
  });
  return [head, head.map(() => '---'), ...rows].map((c) => `| ${c.join(' | ')} |`).join('\n');
}

/** The paragraph under the table: the crossover, the im2col and oneDNN ratios, the errors; every number from the record. */
export function convProse(rec: BenchRecord): string {
  const r = rec.result as ConvAlgos;
  const rows = convTimes(r);
  const ratio = (key: string): number[] => rows.filter((x) => x.t[key] !== undefined).map((x) => x.t[key] / x.t.ours);
  const cross = fftCrossover(r);
  const out: string[] = [];
  if (cross) {
    const at = rows.find((x) => x.k === cross.from)!, last = rows.at(-1)!;
    const below = rows.filter((x) => x.k < cross.from), oursWins = below.filter((x) => x.t.ours <= fftMs(x.t));
    out.push(`FFT convolution overtakes our direct loop from ${cross.from}x${cross.from} on: there the fastest FFT takes ${ms(fftMs(at.t))} ms against our ${ms(at.t.ours)} ms, ` +
      `at ${last.k}x${last.k} ${ms(fftMs(last.t))} ms against ${ms(last.t.ours)} ms (its cost hardly grows with the kernel, the direct loop's grows with its area). ` +
      (below.length ? `Below it the direct loop wins at ${oursWins.length === below.length ? 'every size' : `${oursWins.length} of ${below.length} sizes`} (at 3x3 the FFT takes ${times(fftMs(rows[0].t) / rows[0].t.ours)} our time).` : ''));
  } else {
    out.push(`FFT convolution never overtakes our direct loop up to ${r.ksizes.at(-1)}x${r.ksizes.at(-1)} here.`);
  }
  const npIm2col = ratio(CONV_METHODS[0].key), aten = ratio(CONV_METHODS[1].key), dnnl = ratio(CONV_METHODS[2].key), cv = ratio(CONV_METHODS[3].key);
  if (npIm2col.length) {
    out.push(`im2col + GEMM is ${ratioRange(npIm2col)} our direct loop's time with numpy and OpenBLAS, ${ratioRange(aten)} with ATen's: with one input and one output channel the GEMM is a matrix-vector product, ` +
      `bound by writing and reading a patch matrix k^2 times the image, so the BLAS has no reuse to exploit. oneDNN's direct kernels take ${ratioRange(dnnl)} our time.`);
  }
  if (cv.length) {
    const cvWins = rows.filter((x) => x.t[CONV_METHODS[3].key] < x.t.ours).map((x) => x.k);
    const why = [cvWins.some((k) => k * k < CV_DFT_AREA) ? 'below 13x13 its native direct loop, vectorised for this CPU, where WebAssembly SIMD has four lanes and no fused multiply-add' : '', cvWins.some((k) => k * k >= CV_DFT_AREA) ? 'its DFT from 13x13' : ''].filter(Boolean).join('; ');
    out.push(`cv2.filter2D, which picks its algorithm by kernel size, takes ${ratioRange(cv)} our time: it is faster than ours at ${cvWins.length ? cvWins.map((k) => `${k}x${k}`).join(', ') : 'no size'} here` +
      `${why ? ` (${why})` : ''}, which is why a library keeps several algorithms and chooses among them.`);
  }
  const errs = (fam: string): number[] => rows.flatMap((x) => CONV_METHODS.filter((m) => m.family === fam).map((m) => r.python?.results[x.k]?.[m.key]).filter((v): v is Timing & { relErr: number } => !!v && typeof v !== 'number').map((v) => v.relErr));
  const ours = r.ksizes.map((k) => r.python?.results[k]?.['ours relErr']).filter((v): v is number => typeof v === 'number');
  if (ours.length) {
    out.push(`Every output agrees with a float64 convolution: max |error| / max |exact| at most ${hi(ours).toExponential(1)} for ours, ${hi(errs('direct')).toExponential(1)} for the other direct kernels, ` +
      `${hi(errs('im2col')).toExponential(1)} for im2col and ${hi(errs('fft')).toExponential(1)} for the FFTs (float32 throughout).`);
  }
  return out.join(' ');
}

function convSection(rec: BenchRecord): string {
  const r = rec.result as ConvAlgos;
  const p = r.python;
  const lib = p ? ` numpy ${p.numpy} (OpenBLAS), scipy ${p.scipy}, PyTorch ${p.torch}, OpenCV ${p.opencv};` : '';
  return `${convTable(r)}\n\nMilliseconds, median of runs after a warm-up (a call over 3 s is timed once), one ${r.side}^2 float32 image of random 8-bit values, a dense random kernel per size, ` +
    `reflect101 borders, every implementation on 1 thread;${lib} ours is the WebAssembly SIMD loop \`apply\` runs, in place.\n\n${convProse(rec)}\n\n${benchWhere(rec)}`;
}

// ---- the baselines (bench/baseline-bench.ts) ---------------------------------------------------

interface TorchRun { lr: number; s: number; steps: number; maxErr: number; converged: boolean }
export interface Baselines {
  data: string;
  lrs: number[];
  learning: { ours: Timing; torchTuned?: { threads: number; pixels: number; runs: TorchRun[] }; torchUntuned?: { s: number; steps: number; maxErr: number; converged: boolean } };
  leastSquares: { ours: Timing & { maxErr: number }; python?: { rows: number; buildMs: number; results: Record<string, { ms: number; maxErr: number }> } };
  onnx: { side: number; ours1: Timing; ours2: Timing; ort1?: Timing & { prealloc: boolean }; ort2?: Timing & { prealloc: boolean } };
  tfjs: { side?: number; version?: string; ours?: Timing; cpu?: Timing; wasm?: Timing; wasmAvailable?: boolean };
}

/** The tuned PyTorch loop: the fastest learning rate that converged (null when none did). */
export function bestTorch(b: Baselines): TorchRun | null {
  const ok = (b.learning.torchTuned?.runs ?? []).filter((r) => r.converged);
  return ok.length ? ok.reduce((a, c) => (c.s < a.s ? c : a)) : null;
}

/** The baselines as rows: what ran, how it was tuned, its time, ours, its time / ours. */
export function baselineRows(b: Baselines): { what: string; tuned: string; it: string; ours: string; ratio: number; bound: boolean }[] {
  const out: ReturnType<typeof baselineRows> = [];
  const ours = b.learning.ours.ms, tt = b.learning.torchTuned;
  if (tt) {
    const sweep = [...tt.runs].sort((x, y) => x.lr - y.lr).map((r) => `${r.lr}: ${r.converged ? `${r.s.toFixed(1)} s` : `> ${r.s.toFixed(0)} s`}`).join(', ');
    const best = bestTorch(b) ?? tt.runs.reduce((a, c) => (c.maxErr < a.maxErr ? c : a));
    out.push({ what: `learn Sobel dx to 1e-4, ${b.data}: PyTorch Adam, lr ${best.lr}${best.converged ? '' : ' (no rate converged; the closest)'}, ${best.steps} steps`, tuned: `inputs and targets standardised, full batch, ${tt.threads} thread, ReduceLROnPlateau; lr swept (${sweep})`, it: `${(best.s * 1000).toFixed(0)} ms`, ours: `${ms(ours)} ms (whole process)`, ratio: best.s * 1000 / ours, bound: !best.converged });
  }
  const un = b.learning.torchUntuned;
  if (un) out.push({ what: `the same, PyTorch Adam untuned: ${un.steps} steps${un.converged ? '' : `, error ${un.maxErr.toExponential(1)} at the cap`}`, tuned: 'nothing: 0..255 inputs, lr 0.05 (the loop bench.ts ran before)', it: `${(un.s * 1000).toFixed(0)} ms`, ours: `${ms(ours)} ms`, ratio: un.s * 1000 / ours, bound: !un.converged });
  const ls = b.leastSquares, py = ls.python;
  for (const [name, v] of Object.entries(py?.results ?? {})) {
    out.push({ what: `least squares on ${py!.rows} unfolded 3x3 patches: ${name} (kernel error ${v.maxErr.toExponential(1)}; ours ${ls.ours.maxErr.toExponential(1)})`, tuned: `1 BLAS thread; + ${ms(py!.buildMs)} ms to unfold the patches`, it: `${ms(v.ms + py!.buildMs)} ms`, ours: `${ms(ls.ours.ms)} ms (lag-sum Gram + solve)`, ratio: (v.ms + py!.buildMs) / ls.ours.ms, bound: false });
  }
  const o = b.onnx;
  for (const t of [1, 2] as const) {
    const r = o[`ort${t}`];
    if (r) out.push({ what: `apply 3x3 on ${o.side}^2, ${t} thread${t > 1 ? 's' : ''}: onnxruntime-node on the exported model`, tuned: `graph optimisations all, intra-op threads ${t}${r.prealloc ? ', output preallocated' : ''}`, it: `${ms(r.ms)} ms`, ours: `${ms(o[`ours${t}`].ms)} ms`, ratio: r.ms / o[`ours${t}`].ms, bound: false });
  }
  const tf = b.tfjs;
  for (const be of ['cpu', 'wasm'] as const) {
    const r = tf[be];
    if (r && tf.ours) out.push({ what: `apply 3x3 on ${tf.side}^2: TensorFlow.js ${tf.version} conv2d, ${be} backend`, tuned: be === 'wasm' ? 'its SIMD build, as it loads in Node' : 'the backend that ships with @tensorflow/tfjs', it: `${ms(r.ms)} ms`, ours: `${ms(tf.ours.ms)} ms (1 thread)`, ratio: r.ms / tf.ours.ms, bound: false });
  }
  return out;
}

function baselineSection(rec: BenchRecord): string {
  const rows = baselineRows(rec.result as Baselines);
  const table = ['| baseline | tuned as its users tune it | it | ours | its time / ours |', '| --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.what} | ${r.tuned} | ${r.it} | ${r.ours} | ${r.bound ? '>= ' : ''}${times(r.ratio)} |`)].join('\n');
  return `${table}\n\n${baselineProse(rec)}\n\n${rec.notes.map((n) => `${n}.`).join(' ')}${rec.notes.length ? ' ' : ''}${benchWhere(rec)}`;
}

/** The baselines in sentences: every number from the record. */
export function baselineProse(rec: BenchRecord): string {
  const b = rec.result as Baselines;
  const out: string[] = [];
  const best = bestTorch(b), un = b.learning.torchUntuned;
  if (best) {
    out.push(`Learning the kernel: PyTorch's Adam, tuned (standardised data, the best of ${b.lrs.length} learning rates), reaches 1e-4 of Sobel dx in ${best.s.toFixed(1)} s (${best.steps} steps of ${ms(best.s * 1000 / best.steps)} ms, lr ${best.lr}, the loop alone); ` +
      `our whole \`train\` process (node start, decoding, the exact solve, writing the model) takes ${ms(b.learning.ours.ms)} ms, ${times(best.s * 1000 / b.learning.ours.ms)} faster.` +
      (un ? ` Untuned (0..255 inputs) the same loop ${un.converged ? `needs ${un.s.toFixed(1)} s` : `is still ${un.maxErr.toExponential(1)} off after ${un.s.toFixed(0)} s`}.` : ''));
  } else if (b.learning.torchTuned) {
    const runs = b.learning.torchTuned.runs, close = runs.reduce((a, c) => (c.maxErr < a.maxErr ? c : a));
    out.push(`Learning the kernel: PyTorch's Adam, tuned (standardised data, ${b.lrs.length} learning rates), reached 1e-4 of Sobel dx at no rate within its cap; the closest, lr ${close.lr}, was ${close.maxErr.toExponential(1)} off after ${close.s.toFixed(0)} s (${close.steps} steps, ${ms(close.s * 1000 / close.steps)} ms a step on this loaded machine). ` +
      `Our whole \`train\` process takes ${ms(b.learning.ours.ms)} ms: at least ${times(Math.min(...runs.map((r) => r.s)) * 1000 / b.learning.ours.ms)} faster.`);
  }
  const py = b.leastSquares.python;
  if (py) {
    const tot = Object.entries(py.results).map(([n, v]) => ({ n, t: v.ms + py.buildMs }));
    const f = tot.reduce((a, c) => (c.t < a.t ? c : a));
    const wrong = Object.entries(py.results).filter(([, v]) => v.maxErr > 1e-3);
    out.push(`Solving the same least squares the way numpy and PyTorch users do (unfold the patches, then a solver) takes ${ms(lo(tot.map((x) => x.t)))}-${ms(hi(tot.map((x) => x.t)))} ms, the fastest being ${f.n}; ` +
      `our lag-sum Gram and solve takes ${ms(b.leastSquares.ours.ms)} ms (${times(f.t / b.leastSquares.ours.ms)} faster than the fastest): the patch matrix alone takes ${ms(py.buildMs)} ms to build.` +
      wrong.map(([n, v]) => ` ${n} returns a kernel ${v.maxErr.toExponential(1)} off: its default rcond (the dtype's epsilon times the ${py.rows} rows) drops directions the fit needs; a user must pass rcond or use float64.`).join(''));
  }
  const o = b.onnx;
  if (o.ort1 && o.ort2) {
    out.push(`Applying the exported model with onnxruntime-node takes ${times(o.ort1.ms / o.ours1.ms)} our time on 1 thread and ${times(o.ort2.ms / o.ours2.ms)} on 2.`);
  }
  const tf = b.tfjs;
  if (tf.cpu && tf.ours) {
    out.push(`TensorFlow.js's conv2d takes ${times(tf.cpu.ms / tf.ours.ms)} our time on its cpu backend${tf.wasm ? ` and ${times(tf.wasm.ms / tf.ours.ms)} on its wasm backend` : ' (its wasm backend was not installed for this run)'}.`);
  }
  return out.join(' ');
}

// ---- the sections ------------------------------------------------------------------------------

type Render = (rec: unknown) => string;
/** Renderers by section name (the shape of answers-doc.ts's SECTIONS). */
export const BENCH_SECTIONS: Record<string, { doc: string; record: string; render: Render }> = {
  'conv-algorithms': { doc: 'docs/answers.md', record: 'conv-algorithms', render: (rec) => convSection(rec as BenchRecord) },
  'baselines-q4': { doc: 'docs/answers.md', record: 'baselines', render: (rec) => `${baselineProse(rec as BenchRecord)} (Table and tuning: [docs/performance.md](performance.md#baselines).) ${benchWhere(rec as BenchRecord)}` },
  baselines: { doc: 'docs/performance.md', record: 'baselines', render: (rec) => baselineSection(rec as BenchRecord) },
  'conv-algorithms-perf': { doc: 'docs/performance.md', record: 'conv-algorithms', render: (rec) => `${convProse(rec as BenchRecord)} (The table: [docs/answers.md](answers.md#4-which-optimisations-built-into-the-framework-make-it-fast).) ${benchWhere(rec as BenchRecord)}` },
};

/** markdownTable, re-exported for the experiment-record sections below. */
export { markdownTable };

// ---- Q4's experiments (kernel-learn experiment optimisations | frameworks | batch-crop --record) ----

type Row = Record<string, string | number | boolean | null>;
const num = (v: unknown): number => (typeof v === 'number' ? v : NaN);
const sci = (v: number): string => v.toExponential(1);

/** Where and when an experiment record ran, in a sentence. */
export function experimentWhere(rec: RunRecord): string {
  const m = rec.machine, v = rec.versions, load = (l: number[]): string => l.map((x) => x.toFixed(1)).join(' / ');
  return `Recorded ${rec.date.slice(0, 10)} on ${m.cpus} x ${m.cpu}, Node ${v.node}${v.commit ? ` at ${v.commit.slice(0, 7)}${v.dirty ? ' (with uncommitted changes)' : ''}` : ''}; ` +
    `load average ${load(rec.load.before)} before, ${load(rec.load.after)} after; ${Math.round(rec.seconds)} s in all (\`docs/records/${rec.experiment}.json\`).`;
}

/** An experiment's table, its notes and where it ran. */
export function experimentSection(rec: RunRecord): string {
  return `${markdownTable(rec.table).trimEnd()}\n\n${(rec.notes ?? []).join(' ')}\n${experimentWhere(rec)}`;
}

/** The lead of Q4's measured part: the loops' speed-ups and the solvers' times, from the optimisations record. */
export function optimisationsProse(rec: RunRecord): string {
  const c = rec.claims;
  const size = /(\d{3,})x(\d{3,})/.exec(String((rec.table[0] as Row).what))?.[0] ?? 'one';
  return `On one ${size} image (3x3), the WebAssembly SIMD loop is ${times(num(c.simdSpeedup))} the per-pixel reference (${times(num(c.simdSpeedup) / num(c.fastSpeedup))} our float64 JavaScript loop), ` +
    `and ${times(num(c.threadsSpeedup))} the reference on ${String(c.threads)} worker threads; each equals its reference bit for bit. ` +
    `The exact solve has the kernel to ${sci(num(c.exactKernelError))} in ${ms(num(c.exactMs))} ms; Adam needs ${ms(num(c.adamMs))} ms and SGD ${ms(num(c.sgdMs))} ms to come within 1e-3.`;
}

/** Q4's frameworks paragraph: PyTorch's and TF.js's features as measured, from the frameworks record. */
export function frameworksProse(rec: RunRecord): string {
  const c = rec.claims;
  const t = rec.table as Row[];
  const find = (feature: string, kase: string): Row | undefined => t.find((r) => String(r.feature).startsWith(feature) && String(r.case) === kase);
  const one = t.find((r) => String(r.case).startsWith('1 ch') && String(r.case).endsWith('forward'))?.case as string | undefined;
  const sixteen = t.find((r) => String(r.case).startsWith('16 ch') && String(r.case).endsWith('forward'))?.case as string | undefined;
  const out: string[] = [];
  if (c.torchMeasured && one && sixteen) {
    const base1 = num(find('fp32', one)?.ms), base16 = num(find('fp32', sixteen)?.ms), ours16 = num(t.find((r) => r.framework === 'kernel-learn' && r.case === sixteen)?.ms);
    const rel = base16 / ours16;
    const versus = rel > 0.9 && rel < 1.1 ? `about as fast as ours (${times(ours16 / base16)} our speed)` : base16 < ours16 ? `${times(ours16 / base16)} faster than ours, which loops over the 256 channel pairs` : 'slower than ours';
    out.push(`Channels-last is the same bytes as NCHW with one channel (measured ${times(num(c.oneChannelsLastSpeedup))} the NCHW speed: with identical tensors that is run-to-run noise) and ${times(num(c.sixteenChannelsLastSpeedup))} on a 16-channel layer. ` +
      `bf16 autocast runs ${times(num(c.oneBf16Speedup))} the fp32 speed on one channel and ${times(num(c.sixteenBf16Speedup))} on sixteen, but moves outputs by up to ${(100 * Math.max(num(c.oneBf16RelError), num(c.sixteenBf16RelError))).toPrecision(2)}% of the peak, ` +
      `thousands of times the error a kernel fit is judged by: it cannot certify a kernel. On one channel (${one}) our loop takes ${ms(num(c.oursOneMs))} ms against PyTorch's ${ms(base1)} ms` +
      `${Number.isFinite(num(c.tfjsConvMs)) ? ` and TensorFlow.js's ${ms(num(c.tfjsConvMs))} ms` : ''}; on sixteen channels (${sixteen}) PyTorch's oneDNN takes ${ms(base16)} ms against our ${ms(ours16)} ms ` +
      `(${versus}): the frameworks' machinery pays for deep, many-channel layers, which this problem does not need.`);
  }
  return out.join(' ');
}

/** Q4's batch-and-crop paragraph: every figure from the batch-crop record's table. */
export function batchCropProse(rec: RunRecord): string {
  const t = rec.table as Row[];
  const errKey = Object.keys(t[0]).find((k) => k.startsWith('kernel error after'))!;
  const steps = errKey.replace(/\D/g, '');
  const sel = (targets: (v: string) => boolean, solver: string): Row[] => t.filter((r) => targets(String(r.targets)) && r.solver === solver);
  const exact = (v: string): boolean => v === 'exact', noisy = (v: string): boolean => v.startsWith('+');
  const reached = (rs: Row[]): number[] => rs.map((r) => r['steps to 1e-3']).filter((v): v is number => typeof v === 'number');
  const span = (xs: number[]): string => `${Math.min(...xs)}-${Math.max(...xs)}`;
  const stuck = sel(exact, 'sgd').filter((r) => typeof r['steps to 1e-3'] !== 'number');
  const row = (solver: string, b: number, c: string): Row | undefined => t.find((r) => exact(String(r.targets)) && r.solver === solver && r.batch === b && r['crop (valid px)'] === c);
  const small = row('adam', 4, '8x8'), dflt = row('adam', 8, '64x64');
  const noisyRows = t.filter((r) => noisy(String(r.targets)) && typeof r.batch === 'number');
  const errs = (f: (px: number) => boolean): number[] => noisyRows.filter((r) => f(num(r['px per step'])) && !(r.solver === 'sgd' && r.batch === 1)).map((r) => num(r[errKey]));
  const exactLs = t.find((r) => String(r.solver).startsWith('exact'));
  const parts = [
    `On exact targets Adam needs ${span(reached(sel(exact, 'adam')))} steps to bring the taps within 1e-3 whatever the batch and crop (its steps are normalised), SGD ${span(reached(sel(exact, 'sgd')))}` +
      `${stuck.length ? `, except with ${stuck.map((r) => `${r.batch} crop${r.batch === 1 ? '' : 's'} of ${r['crop (valid px)']}`).join(', ')} per step, where the default rate (momentum 0.9) never settles (${sci(num(stuck[0][errKey]))} off after ${steps} steps)` : ''}. ` +
      `The pixels per step then set the time: 4 crops of 8x8 reach 1e-3 with Adam in ${String(small?.['ms to 1e-3'])} ms, the trainer's default 8 crops of 64x64 in ${String(dflt?.['ms to 1e-3'])} ms.`,
    `With noisy targets a crop's gradient no longer vanishes at the optimum: after ${steps} steps the kernel is between ${sci(Math.min(...errs((px) => px <= 1024)))} and ${sci(Math.max(...errs((px) => px <= 1024)))} off with at most 1024 pixels a step ` +
      `and between ${sci(Math.min(...errs((px) => px >= 16384)))} and ${sci(Math.max(...errs((px) => px >= 16384)))} with 16k or more, around the ${sci(num(exactLs?.[errKey]))} of the exact least-squares kernel of the same noisy images. ` +
      `That is why the trainer's default takes ~32k pixels a step (real targets are noisy), and why the exact solver, which needs neither, is the default.`,
  ];
  return parts.join(' ');
}

BENCH_SECTIONS['q4-optimisations'] = { doc: 'docs/answers.md', record: 'optimisations', render: (rec) => `${optimisationsProse(rec as RunRecord)}\n\n${experimentSection(rec as RunRecord)}` };
BENCH_SECTIONS['q4-frameworks'] = { doc: 'docs/answers.md', record: 'frameworks', render: (rec) => `${frameworksProse(rec as RunRecord)}\n\n${experimentSection(rec as RunRecord)}` };
BENCH_SECTIONS['q4-batch-crop'] = { doc: 'docs/answers.md', record: 'batch-crop', render: (rec) => `${batchCropProse(rec as RunRecord)}\n\n${experimentSection(rec as RunRecord)}` };

// ---- npm run bench -- --core (bench/bench.ts): performance.md's first table, README's figures ----

export interface CoreBench {
  bandwidth: { copyGBps: number };
  conv: Record<string, unknown> & { best: { name: string; mpx: number }; bandwidthFraction: number };
  apply: { size: string; oursMs: number; oursPeakMB: number; pythonOpencvMs?: number };
  train: { exactMs: number; decodeProcessMs: number; decodeMs: number };
  stream?: { input: string; ms: number; peakMB: number; targetMB: number };
  install?: { npxMs: number; directMs: number; tarballBytes: number; unpackedBytes: number; files: number };
}

/** The bench's rows as a table, then its notes and where it ran. */
export function rowsTable(rec: BenchRecord): string {
  const esc = (t: string): string => t.replace(/\|/g, '/');
  return ['| group | measured | ours | beside | ratio |', '| --- | --- | --- | --- | --- |',
    ...rec.rows.map((r) => `| ${r.group} | ${esc(r.what.trim())} | ${r.ours} | ${esc(r.other)} | ${r.ratio} |`)].join('\n');
}

/** The targets of issue 4, each judged against the record: met or not, and by how much. */
export function coreTargets(rec: BenchRecord): string {
  const r = rec.result as CoreBench, c = r.conv;
  const met = (ok: boolean): string => (ok ? 'met' : '**not met**');
  const out: string[] = [];
  if (r.apply.pythonOpencvMs) {
    const x = r.apply.pythonOpencvMs / r.apply.oursMs;
    out.push(`- apply, whole process, ${r.apply.size} .npy -> .npy vs np.load + cv2.filter2D + np.save: ${met(x >= 1)}, ${times(x)} (${ms(r.apply.oursMs)} vs ${ms(r.apply.pythonOpencvMs)} ms; ours peaks at ${r.apply.oursPeakMB.toFixed(0)} MB).`);
  }
  const side = c.sideBySide as { best: { name: string; mpx: number }; freshMpxPerS: number } | undefined;
  if (typeof c.opencvDstMpxPerS === 'number' && side) {
    const x = side.best.mpx / c.opencvDstMpxPerS;
    out.push(`- apply in process vs \`cv2.filter2D\` on the same array, both into a reused output (ours timed just before and after it): ${met(x >= 1)}, ${times(x)} (ours ${side.best.name}, ${side.best.mpx.toFixed(0)} Mpx/s; OpenCV ${String(c.opencvThreads)} threads, ${c.opencvDstMpxPerS.toFixed(0)} Mpx/s).` +
      (typeof c.opencvMpxPerS === 'number' ? ` With a fresh output array per call ours runs at ${times(side.freshMpxPerS / c.opencvMpxPerS)} OpenCV's speed: page faults on first touch (below).` : ''));
  }
  out.push(`- memory bandwidth: ${met(c.bandwidthFraction >= 0.5)}, the best conv moves its 8 bytes a pixel at ${(100 * c.bandwidthFraction).toFixed(0)}% of copy bandwidth (${r.bandwidth.copyGBps.toFixed(1)} GB/s; target 50%).`);
  const d = r.train.exactMs / r.train.decodeProcessMs;
  out.push(`- train (exact) within 3x of the time to decode its files: ${met(d <= 3)} against a process that only decodes them, ${times(d)} (${ms(r.train.exactMs)} vs ${ms(r.train.decodeProcessMs)} ms); ` +
    `${met(r.train.exactMs / r.train.decodeMs <= 3)} against decoding inside an already warm process, ${times(r.train.exactMs / r.train.decodeMs)}: node start and imports, the JIT's first runs, the worker's start and page faults remain.`);
  if (r.stream) out.push(`- ${r.stream.input} -> float32 .npy within ${r.stream.targetMB} MB: ${met(r.stream.peakMB <= r.stream.targetMB)}, peak ${r.stream.peakMB.toFixed(0)} MB in ${(r.stream.ms / 1000).toFixed(1)} s.`);
  out.push('- train (exact) against PyTorch, and apply against onnxruntime and TensorFlow.js: "Baselines" below.');
  return out.join('\n');
}

/** README's figures: the streaming apply's peak memory, what npx adds, the tarball. */
export function readmeStream(rec: BenchRecord): string {
  const s = (rec.result as CoreBench).stream;
  return s ? `Streaming a ${s.input} into a float32 .npy peaks at ${s.peakMB.toFixed(0)} MB of memory (\`npm run bench\`, ${rec.date.slice(0, 10)}; docs/performance.md).` : '';
}
export function readmeInstall(rec: BenchRecord): string {
  const i = (rec.result as CoreBench).install;
  return i ? `On this machine \`npx kernel-learn --version\` took ${ms(i.npxMs)} ms against ${ms(i.directMs)} ms for \`kernel-learn --version\`, and \`npm pack\` makes a ${(i.tarballBytes / 1000).toFixed(0)} kB tarball of ${i.files} files (\`npm run bench\`, ${rec.date.slice(0, 10)}).` : '';
}

BENCH_SECTIONS['bench'] = { doc: 'docs/performance.md', record: 'bench', render: (rec) => `${rowsTable(rec as BenchRecord)}\n\n${(rec as BenchRecord).notes.map((n) => `${n}.`).join(' ')}${(rec as BenchRecord).notes.length ? ' ' : ''}${benchWhere(rec as BenchRecord)}` };
BENCH_SECTIONS['bench-targets'] = { doc: 'docs/performance.md', record: 'bench', render: (rec) => coreTargets(rec as BenchRecord) };
BENCH_SECTIONS['readme-install'] = { doc: 'README.md', record: 'bench', render: (rec) => readmeInstall(rec as BenchRecord) };
BENCH_SECTIONS['readme-stream'] = { doc: 'README.md', record: 'bench', render: (rec) => readmeStream(rec as BenchRecord) };
