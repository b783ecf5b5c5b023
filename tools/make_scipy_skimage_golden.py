#!/usr/bin/python3
"""Golden fixtures for src/filters/libraries/ (scipy.ndimage and skimage.filters), made with the
real libraries. Run with Debian's python (python3-scipy 1.10, python3-skimage 0.19, numpy 1.24; the
python3 first on PATH may lack them):

    /usr/bin/python3 tools/make_scipy_skimage_golden.py

It writes test/fixtures/scipy-skimage/: inputs and outputs as .npy (HWC for colour, as numpy holds
them) and manifest.json with
  - versions: numpy, scipy, skimage and the CPU features that decide numpy's exp;
  - cases: {name, input, output, spec, call, tol}: spec is our TypeScript spec (ScipySpec or
    SkimageSpec), call the exact Python expression that made the output (evaluated here with x the
    input), tol the test's tolerance: 0 = every value identical, else max |ours - theirs| <=
    tol * max |theirs|;
  - tables: np.exp on Gaussian-kernel arguments, _gaussian_kernel1d kernels, np.sum orders, and
    the C casts scipy uses for integer outputs.
The call strings are built by call_string() below with the same rules as scipyCallString /
skimageCallString, and the TypeScript test checks that they agree, so every printed call is one
that really ran. Everything is deterministic; rerunning rewrites identical files.
"""
import json
import os
import shutil
import warnings

import numpy as np
import PIL.Image
import scipy
import scipy.ndimage
import skimage
import skimage.filters
from scipy.ndimage._filters import _gaussian_kernel1d

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'scipy-skimage')
PHOTOS = os.path.join(ROOT, 'test', 'fixtures', 'photos')
NP_OF = {'u8': np.uint8, 's16': np.int16, 'u16': np.uint16, 'f32': np.float32, 'f64': np.float64}
DEPTH_OF = {np.dtype(v): k for k, v in NP_OF.items()}
rng = np.random.default_rng(20240611)


# ---------------------------------------------------------------------------------------------
# Inputs

def photo(name, x0, y0, w, h):
    img = np.asarray(PIL.Image.open(os.path.join(PHOTOS, name + '.png')).convert('L'))
    return img[y0:y0 + h, x0:x0 + w].copy()


def synthetic(h, w, lo=0.0, hi=255.0, noise=6.0):
    """Flat regions (where truncation to an integer dtype is decided by the last bit), a step, a
    ramp, a disc and noise."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.full((h, w), 0.3)
    img[:, w // 2:] = 0.8
    img[h // 3:, : w // 3] = 0.55 + 0.4 * (x[h // 3:, : w // 3] / w)
    img[(y - h * 0.6) ** 2 + (x - w * 0.65) ** 2 < (min(h, w) * 0.25) ** 2] = 0.1
    img = lo + (hi - lo) * img
    img[h // 2:, :] += rng.normal(0, noise, (h - h // 2, w))
    return img


inputs = {
    'photo_u8': photo('baboon', 60, 40, 40, 33),
    'photo2_u8': photo('building', 50, 40, 21, 17),
    'photo_rgb_u8': np.stack([photo(n, 70, 50, 17, 9) for n in ('fruits', 'building', 'home')], axis=-1),
    'synth_u8': np.clip(np.round(synthetic(24, 20)), 0, 255).astype(np.uint8),
    'synth_f32': synthetic(19, 23, -50, 300).astype(np.float32),
    'synth_f64': synthetic(17, 20, 0, 1, 0.02),
    'photo_f32': (photo('aero1', 50, 50, 21, 17) / 255).astype(np.float32),
    'photo_u16': (photo('butterfly', 70, 40, 16, 12).astype(np.uint16) * 257 + rng.integers(0, 257, (12, 16))).astype(np.uint16),
    'synth_s16': np.round(synthetic(11, 14, -3000, 3000, 100)).astype(np.int16),
    'rgb_f32': (np.stack([photo(n, 40, 70, 9, 8) for n in ('baboon', 'fruits', 'aero1')], axis=-1) / 255).astype(np.float32),
    'line_f64': rng.uniform(-1, 1, (1, 7)),
    'tiny_u8': np.array([[10, 200, 37], [255, 0, 128]], dtype=np.uint8),
}


# ---------------------------------------------------------------------------------------------
# Call strings (the same rules as src/filters/libraries/*.ts)

def lit(v):
    if isinstance(v, Raw):
        return v.s
    if v is None:
        return 'None'
    if isinstance(v, bool):
        return 'True' if v else 'False'
    if isinstance(v, str):
        return "'" + v + "'"
    if isinstance(v, (list, tuple)):
        return '[' + ', '.join(lit(e) for e in v) + ']'
    f = float(v)
    return str(int(f)) if f.is_integer() else repr(f)


class Raw:
    def __init__(self, s):
        self.s = s


NP_NAME = {'u8': 'uint8', 's16': 'int16', 'u16': 'uint16', 'f32': 'float32', 'f64': 'float64'}


def call_string(spec):
    fn = spec['fn']
    g = spec.get
    out = Raw('np.' + NP_NAME[g('output')]) if g('output') else None

    def nd(v, d):
        return None if v is None or v == d else v

    if spec['library'] == 'scipy.ndimage':
        tail = [('output', out), ('mode', nd(g('mode'), 'reflect')), ('cval', nd(g('cval'), 0))]
        args = {
            'correlate1d': [('weights', g('weights')), ('axis', nd(g('axis'), -1))] + tail + [('origin', nd(g('origin'), 0))],
            'correlate': [('weights', g('weights'))] + tail + [('origin', nd(g('origin'), 0))],
            'sobel': [('axis', nd(g('axis'), -1))] + tail,
            'laplace': tail,
            'gaussian_filter': [('sigma', g('sigma')), ('order', nd(g('order'), 0))] + tail + [('truncate', nd(g('truncate'), 4)), ('radius', g('radius'))],
            'gaussian_filter1d': [('sigma', g('sigma')), ('axis', nd(g('axis'), -1)), ('order', nd(g('order'), 0))] + tail + [('truncate', nd(g('truncate'), 4)), ('radius', g('radius'))],
            'uniform_filter': [('size', nd(g('size'), 3))] + tail + [('origin', nd(g('origin'), 0))],
            'uniform_filter1d': [('size', g('size')), ('axis', nd(g('axis'), -1))] + tail + [('origin', nd(g('origin'), 0))],
        }
        args['convolve1d'] = args['correlate1d']
        args['convolve'] = args['correlate']
        args['prewitt'] = args['sobel']
        a = args[fn]
    elif fn in ('sobel', 'scharr', 'prewitt'):
        a = [('axis', g('axis')), ('mode', nd(g('mode'), 'reflect'))]
    elif fn == 'gaussian':
        a = [('sigma', nd(g('sigma'), 1)), ('mode', nd(g('mode'), 'nearest')), ('cval', nd(g('cval'), 0)),
             ('preserve_range', nd(g('preserve_range'), False)), ('truncate', nd(g('truncate'), 4)),
             ('channel_axis', g('channel_axis'))]
    else:
        a = []
    parts = ['x'] + [f'{k}={lit(v)}' for k, v in a if v is not None]
    return f"{spec['library']}.{fn}({', '.join(parts)})"


# ---------------------------------------------------------------------------------------------
# Cases

cases = []
used_inputs = set()


def case(input_name, tol=0, **spec):
    lib = 'skimage.filters' if spec.pop('sk', False) else 'scipy.ndimage'
    spec = {'library': lib, **spec}
    call = call_string(spec)
    x = inputs[input_name]
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        y = eval(call, {'scipy': scipy, 'skimage': skimage, 'np': np, 'x': x})
    assert y.shape == x.shape, (call, y.shape)
    name = f'{len(cases):03d}'
    out_file = f'out_{name}.npy'
    np.save(os.path.join(OUT, out_file), y)
    used_inputs.add(input_name)
    cases.append({'name': name, 'input': input_name + '.npy', 'output': out_file, 'spec': spec, 'call': call, 'tol': tol,
                  'dtype': DEPTH_OF[y.dtype]})


MODES = ['reflect', 'mirror', 'nearest', 'wrap', 'constant']
ALIASES = ['grid-mirror', 'grid-wrap', 'grid-constant']


def scipy_cases():
    # gaussian_filter: every mode, several sigmas/truncates, integer outputs (truncated per pass)
    for i, mode in enumerate(MODES):
        case('photo_u8', fn='gaussian_filter', sigma=[0.5, 1.5, 2.3][i % 3], mode=mode)
        case('synth_u8', fn='gaussian_filter', sigma=1, mode=mode, **({'cval': 40} if mode == 'constant' else {}))
        case('synth_f32', fn='gaussian_filter', sigma=[0.8, 3][i % 2], mode=mode)
        case('synth_f64', fn='gaussian_filter', sigma=1.2, mode=mode, **({'cval': 0.5} if mode == 'constant' else {}))
    for mode in ALIASES:
        case('synth_f64', fn='gaussian_filter', sigma=1.2, mode=mode)
        case('synth_u8', fn='uniform_filter', size=4, mode=mode)
    for sigma in [0.3, 0.7, 1, 2, 4.5, 7]:
        case('synth_u8', fn='gaussian_filter', sigma=sigma)
    for truncate in [1, 2.5, 3]:
        case('photo_u8', fn='gaussian_filter', sigma=1.7, truncate=truncate)
        case('synth_f64', fn='gaussian_filter', sigma=2.2, truncate=truncate, mode='nearest')
    case('photo_u8', fn='gaussian_filter', sigma=2, radius=3)
    case('photo_u8', fn='gaussian_filter', sigma=1.5, output='f32')
    case('photo_u8', fn='gaussian_filter', sigma=1.5, output='f64')
    case('photo_u8', fn='gaussian_filter', sigma=1.5, output='s16')
    case('synth_f32', fn='gaussian_filter', sigma=1.5, output='u8')
    case('synth_f32', fn='gaussian_filter', sigma=1.5, output='f64')
    case('synth_f64', fn='gaussian_filter', sigma=1.5, output='f32')
    case('photo_u16', fn='gaussian_filter', sigma=1.1)
    case('synth_s16', fn='gaussian_filter', sigma=0.9, mode='mirror')
    case('synth_f64', fn='gaussian_filter', sigma=[2.5, 0.6])
    case('synth_u8', fn='gaussian_filter', sigma=[0, 2])
    case('synth_u8', fn='gaussian_filter', sigma=0)
    case('synth_f32', fn='gaussian_filter', sigma=1.3, mode=['nearest', 'wrap'])
    # derivative orders
    for order in [1, 2, 3, [1, 0], [0, 2], [3, 1], [2, 2]]:
        case('synth_f64', fn='gaussian_filter', sigma=1.6, order=order)
    for order in [1, 2, 3]:
        case('photo_u8', fn='gaussian_filter', sigma=2, order=order, output='f64')
        case('synth_f32', fn='gaussian_filter', sigma=0.9, order=order, mode='mirror')
    case('photo_u8', fn='gaussian_filter', sigma=1, order=1)
    case('photo_u8', fn='gaussian_filter', sigma=1.4, order=[0, 1], output='s16')
    # colour: a 3-D array, blurred across channels unless sigma is 0 there
    case('photo_rgb_u8', fn='gaussian_filter', sigma=1)
    case('photo_rgb_u8', fn='gaussian_filter', sigma=[1.5, 1.5, 0])
    case('rgb_f32', fn='gaussian_filter', sigma=[0.8, 1.2, 0], mode='wrap')
    # tiny arrays, kernels much wider than the image
    for mode in MODES:
        case('line_f64', fn='gaussian_filter', sigma=3, mode=mode)
        case('tiny_u8', fn='gaussian_filter', sigma=2.5, mode=mode, output='f64')
    # gaussian_filter1d
    case('photo_u8', fn='gaussian_filter1d', sigma=2, axis=0)
    case('photo_u8', fn='gaussian_filter1d', sigma=1.3, order=1, output='f32')
    case('synth_f64', fn='gaussian_filter1d', sigma=3.1, order=2, mode='mirror')
    case('synth_f32', fn='gaussian_filter1d', sigma=0.6, axis=0, order=3, truncate=6)
    case('photo_rgb_u8', fn='gaussian_filter1d', sigma=1, axis=1)
    # uniform_filter: odd and even sizes, origins
    for size in [2, 3, 4, 5, 7]:
        case('photo_u8', fn='uniform_filter', size=size)
        case('synth_f32', fn='uniform_filter', size=size, mode=MODES[size % 5])
    for origin in [-1, 1, [0, -1], [1, 0]]:
        case('synth_u8', fn='uniform_filter', size=4, origin=origin)
        case('synth_f64', fn='uniform_filter', size=[3, 4], origin=origin, mode='nearest')
    for mode in MODES:
        case('synth_f64', fn='uniform_filter', size=5, mode=mode, cval=0.25)
        case('line_f64', fn='uniform_filter', size=[1, 9], mode=mode)
    case('photo_u8', fn='uniform_filter', size=5, output='f32')
    case('photo_u16', fn='uniform_filter', size=3, output='f64')
    case('photo_rgb_u8', fn='uniform_filter', size=3)
    case('photo_rgb_u8', fn='uniform_filter', size=[3, 3, 1])
    case('synth_u8', fn='uniform_filter1d', size=6, axis=0, origin=-2)
    case('synth_f32', fn='uniform_filter1d', size=3, mode='wrap')
    # sobel / prewitt / laplace: integer inputs keep their dtype (wrap-around)
    for fn in ['sobel', 'prewitt']:
        for axis in [0, 1, -1]:
            case('photo_u8', fn=fn, axis=axis)
        for i, mode in enumerate(MODES):
            case('synth_f32', fn=fn, axis=i % 2, mode=mode)
        case('photo_u8', fn=fn, output='f32')
        case('photo_u8', fn=fn, axis=0, output='s16')
        case('synth_f64', fn=fn, axis=0, mode=['reflect', 'wrap'])
        case('photo_rgb_u8', fn=fn, axis=2, output='f64')
        case('photo_rgb_u8', fn=fn, axis=0)
        case('synth_s16', fn=fn)
        case('photo_u16', fn=fn, axis=0, output='f32')
    for mode in MODES:
        case('synth_f64', fn='laplace', mode=mode, cval=-0.5)
    case('photo_u8', fn='laplace')
    case('photo_u8', fn='laplace', output='s16')
    case('synth_f32', fn='laplace', mode=['mirror', 'nearest'])
    case('photo_rgb_u8', fn='laplace', output='f32')
    case('photo_u16', fn='laplace')
    # correlate1d / convolve1d: symmetric, antisymmetric, general, even lengths, origins
    w_sym = [0.1, 0.25, 0.3, 0.25, 0.1]
    w_anti = [-0.5, -1, 0, 1, 0.5]
    w_gen = [0.3, -0.2, 0.7, 0.05]
    for fn in ['correlate1d', 'convolve1d']:
        case('photo_u8', fn=fn, weights=w_sym, output='f64')
        case('photo_u8', fn=fn, weights=w_anti, axis=0, output='f32')
        case('photo_u8', fn=fn, weights=w_gen)
        case('synth_f32', fn=fn, weights=w_gen, origin=-2, mode='mirror')
        case('synth_f32', fn=fn, weights=w_gen, origin=1, axis=0, mode='wrap')
        case('synth_f64', fn=fn, weights=[1, 2, 4], origin=1, mode='constant', cval=2)
        case('synth_f64', fn=fn, weights=[0.5, 0.5], mode='nearest')
        case('synth_s16', fn=fn, weights=[1, -3, 3, -1], output='s16')
    # correlate / convolve (N-D weights)
    w3 = np.round(rng.uniform(-1, 1, (3, 3)), 3).tolist()
    w24 = [[0.5, -1, 0.25, 2], [1, 0, -0.75, 0.125]]
    w5 = np.round(rng.uniform(-1, 1, (5, 5)), 3).tolist()
    w5[1][2] = 1e-17  # below DBL_EPSILON: scipy drops it from the footprint
    w332 = np.round(rng.uniform(-1, 1, (3, 3, 2)), 2).tolist()
    for fn in ['correlate', 'convolve']:
        for mode in MODES:
            case('synth_f64', fn=fn, weights=w3, mode=mode, cval=0.3)
        case('photo_u8', fn=fn, weights=w3)
        case('photo_u8', fn=fn, weights=w3, output='f32')
        case('photo_u8', fn=fn, weights=w24, origin=[0, -1], output='f64')
        case('synth_f32', fn=fn, weights=w24, origin=[-1, 1], mode='nearest')
        case('synth_u8', fn=fn, weights=w5, mode='mirror')
        case('photo_rgb_u8', fn=fn, weights=w332, output='f64')
        case('tiny_u8', fn=fn, weights=w5, mode='wrap', output='f64')


def skimage_cases():
    for fn in ['sobel', 'scharr', 'prewitt']:
        for inp in ['photo2_u8', 'synth_f32', 'synth_f64', 'synth_s16', 'photo_u16', 'photo_rgb_u8', 'rgb_f32', 'tiny_u8']:
            case(inp, sk=True, fn=fn)
        for mode in MODES[1:]:
            case('photo2_u8', sk=True, fn=fn, mode=mode)
        for axis in [0, 1, -1, [0, 1]]:
            case('synth_f32', sk=True, fn=fn, axis=axis)
        case('photo_rgb_u8', sk=True, fn=fn, axis=[0, 1])
        for d in ['h', 'v']:
            for inp in ['photo2_u8', 'synth_f32', 'synth_f64']:
                case(inp, sk=True, fn=f'{fn}_{d}')
    for fn in ['farid', 'farid_h', 'farid_v']:
        for inp in ['photo2_u8', 'synth_f32', 'synth_f64', 'photo_u16', 'synth_s16']:
            case(inp, sk=True, fn=fn)
    for inp in ['photo2_u8', 'synth_f32', 'synth_f64', 'synth_s16', 'photo_u16', 'photo_rgb_u8', 'rgb_f32']:
        case(inp, sk=True, fn='gaussian')
    for sigma in [0.5, 2, 3.7, [1, 2.5]]:
        case('photo2_u8', sk=True, fn='gaussian', sigma=sigma)
    case('photo2_u8', sk=True, fn='gaussian', sigma=1.5, preserve_range=True)
    case('synth_s16', sk=True, fn='gaussian', sigma=1.5, preserve_range=True)
    case('synth_f32', sk=True, fn='gaussian', sigma=2, preserve_range=True, truncate=2)
    for mode in ['reflect', 'mirror', 'wrap', 'constant']:
        case('synth_f64', sk=True, fn='gaussian', sigma=1.4, mode=mode, **({'cval': 0.7} if mode == 'constant' else {}))
    case('photo_rgb_u8', sk=True, fn='gaussian', sigma=1.2, channel_axis=-1)
    case('photo_rgb_u8', sk=True, fn='gaussian', sigma=[1.2, 0.5], channel_axis=-1)
    case('rgb_f32', sk=True, fn='gaussian', sigma=0.8, channel_axis=2)
    case('photo2_u8', sk=True, fn='gaussian', sigma=1, channel_axis=1)


refused = []


def refuse(input_name, **spec):
    """A call the library refuses (ValueError/RuntimeError): apply must throw too."""
    lib = 'skimage.filters' if spec.pop('sk', False) else 'scipy.ndimage'
    spec = {'library': lib, **spec}
    call = call_string(spec)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            eval(call, {'scipy': scipy, 'skimage': skimage, 'np': np, 'x': inputs[input_name]})
    except (ValueError, RuntimeError) as e:
        refused.append({'input': input_name + '.npy', 'spec': spec, 'call': call, 'error': f'{type(e).__name__}: {e}'})
        used_inputs.add(input_name)
        return
    raise AssertionError(f'{call} was accepted')


def refused_cases():
    refuse('photo_u8', fn='correlate1d', weights=[1, 2, 3], origin=2)
    refuse('photo_u8', fn='convolve1d', weights=[1, 2], origin=1)
    refuse('photo_u8', fn='correlate', weights=[[1, 2, 3]], origin=[1, 0])
    refuse('photo_u8', fn='correlate', weights=[1, 2, 3])
    refuse('photo_u8', fn='uniform_filter', size=4, origin=2)
    refuse('photo_u8', fn='uniform_filter1d', size=0)
    refuse('photo_u8', fn='sobel', axis=2)
    refuse('photo_u8', fn='gaussian_filter', sigma=[1, 2, 3])
    refuse('photo_u8', fn='gaussian_filter', sigma=1, mode='edge')
    refuse('photo_u8', fn='gaussian_filter1d', sigma=1, truncate=-2)
    refuse('photo_rgb_u8', sk=True, fn='sobel_h')
    refuse('photo_rgb_u8', sk=True, fn='farid')
    refuse('photo_u8', sk=True, fn='gaussian', sigma=-1)


# ---------------------------------------------------------------------------------------------
# Tables

def tables():
    args = []
    for s in np.concatenate([np.linspace(0.3, 10, 12), rng.uniform(0.3, 10, 6)]):
        r = int(4 * s + 0.5)
        x = np.arange(-r, r + 1)
        args.append(-0.5 / (s * s) * x ** 2)
    args.append(rng.uniform(-700, 700, 150))
    args.append(rng.uniform(-1, 1, 150))
    a = np.concatenate(args)
    kernels = []
    for s in [0.3, 0.75, 1, 1.3, 2.2, 3.1, 4.5, 10]:
        for order in range(4):
            for truncate in [4.0, 2.5] if s < 3 else [4.0]:
                r = int(truncate * s + 0.5)
                kernels.append({'sigma': s, 'order': order, 'radius': r, 'values': _gaussian_kernel1d(s, order, r).tolist()})
    sums = []
    for n in [1, 7, 8, 9, 17, 127, 128, 129, 300]:
        v = rng.uniform(-1, 1, n) * 10.0 ** rng.uniform(-3, 3, n)
        sums.append({'values': v.tolist(), 'sum': float(np.sum(v))})
    vals = np.array([-1.5, -0.5, -0.99, 0.99, 255.7, 256.2, 300.9, -300.2, 65535.5, 65536.5, 70000.3, -70000.3,
                     32767.9, 32768.1, -32768.9, -40000.5, 1e10, -1e10, 2.0 ** 31 - 1, 2.0 ** 31 + 5, -2.0 ** 31,
                     -2.0 ** 31 - 5, 2.0 ** 32 + 7], dtype=np.float64)[None, :]
    casts = {'values': vals[0].tolist()}
    for d in ['u8', 's16', 'u16']:
        casts[d] = scipy.ndimage.correlate1d(vals, [1.0], output=NP_OF[d])[0].tolist()
    return {'exp': {'args': a.tolist(), 'values': np.exp(a).tolist()}, 'gaussianKernels': kernels, 'sums': sums, 'casts': casts}


def cpu_flags():
    try:
        with open('/proc/cpuinfo') as f:
            flags = next(l for l in f if l.startswith('flags')).split()
        return [x for x in ('avx2', 'fma', 'avx512f', 'avx512bw', 'avx512dq', 'avx512vl') if x in flags]
    except (OSError, StopIteration):
        return []


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    scipy_cases()
    skimage_cases()
    refused_cases()
    for name in sorted(used_inputs):
        np.save(os.path.join(OUT, name + '.npy'), inputs[name])
    manifest = {
        'versions': {'numpy': np.__version__, 'scipy': scipy.__version__, 'skimage': skimage.__version__, 'cpu': cpu_flags()},
        'inputs': {k: {'shape': list(v.shape), 'dtype': DEPTH_OF[v.dtype]} for k, v in sorted(inputs.items()) if k in used_inputs},
        'cases': cases,
        'refused': refused,
        'tables': tables(),
    }
    with open(os.path.join(OUT, 'manifest.json'), 'w') as f:
        # one line per case and per table entry: readable, and diffs stay small
        f.write('{\n')
        for i, (key, value) in enumerate(manifest.items()):
            f.write(f' {json.dumps(key)}: ')
            if isinstance(value, list):
                f.write('[\n' + ',\n'.join('  ' + json.dumps(v) for v in value) + '\n ]')
            elif key == 'tables':
                f.write('{\n' + ',\n'.join(f'  {json.dumps(k)}: {json.dumps(v)}' for k, v in value.items()) + '\n }')
            else:
                f.write(json.dumps(value))
            f.write(',\n' if i < len(manifest) - 1 else '\n')
        f.write('}\n')
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print(f'{len(cases)} cases, {len(os.listdir(OUT))} files, {total / 1e6:.2f} MB in {OUT}')


if __name__ == '__main__':
    main()
