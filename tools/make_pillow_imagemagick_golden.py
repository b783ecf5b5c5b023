#!/usr/bin/python3
"""Golden fixtures for src/filters/pillow.ts and src/filters/imagemagick.ts, made with the real tools.

Run with Debian's python (python3-pil 9.4 and numpy; the python3 first on PATH may lack them):

    /usr/bin/python3 tools/make_pillow_imagemagick_golden.py
    /usr/bin/python3 tools/make_pillow_imagemagick_golden.py --sweep 400 --seed 7 --out /tmp/sweep

The default run writes test/fixtures/pillow-imagemagick/:
  - in_<name>.npy      the inputs, uint8, HW (grey) or HWC (RGB): crops of test/fixtures/photos,
                       a synthetic image (hard edges, saturated areas, noise), a 4x3 image smaller
                       than most kernels, and one small RGB image;
  - out_<library>_<name>.npy  every output for that input and library stacked: N x H x W(x C);
  - manifest.json      {versions, inputs, cases: [{library, input, spec, call, output, index}]}.
Each case's `spec` is the TypeScript spec (PillowSpec / ImageMagickSpec) and `call` is exactly
what ran: for Pillow the Python expression evaluated with `image` bound to the input, for
ImageMagick the shell form (shlex.join) of the argv run, with in.png / out.png for the file
names. The tests check that our callString prints the same text.

--sweep N writes N random calls (random sizes, radii, sigmas, kernels) to --out instead: not
committed, for measuring agreement widely (KL_PILLOW_IM_FIXTURES=<dir> node --test
dist/test/pillow-imagemagick.test.js).

Every ImageMagick output is checked to be an 8-bit PNG of the input's mode (grey stays grey), and
`convert in.png out.png` is checked to return the input unchanged, so no colour or gamma
conversion is involved. Deterministic: the same tools and numpy give identical files.
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile

import numpy as np
import PIL
from PIL import Image, ImageFilter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PHOTOS = os.path.join(ROOT, 'test', 'fixtures', 'photos')
CONVERT = '/usr/bin/convert'  # /usr/local/bin/convert is a stand-in, not ImageMagick


# ---------------------------------------------------------------------------------------------
# Printing, mirroring pillowCallString / imageMagickArgs / imKernelString in TypeScript

def num(x):
    """A number as JavaScript's String() prints it (for the values used here)."""
    if isinstance(x, bool):
        raise TypeError(x)
    if float(x).is_integer() and abs(x) < 1e21:
        return str(int(x))
    r = repr(float(x))
    if 'e' in r:
        raise ValueError(f'{x}: exponent formats differ between Python and JavaScript')
    return r


def pillow_call(spec):
    fn = spec['fn']
    if fn in ('GaussianBlur', 'BoxBlur'):
        return f"image.filter(ImageFilter.{fn}({num(spec['radius'])}))"
    if fn == 'UnsharpMask':
        return (f"image.filter(ImageFilter.UnsharpMask(radius={num(spec['radius'])}, "
                f"percent={num(spec['percent'])}, threshold={num(spec['threshold'])}))")
    if fn == 'Kernel':
        n = spec['size']
        extra = ''
        if 'scale' in spec:
            extra += f", scale={num(spec['scale'])}"
        if 'offset' in spec:
            extra += f", offset={num(spec['offset'])}"
        return f"image.filter(ImageFilter.Kernel(({n}, {n}), [{', '.join(num(v) for v in spec['kernel'])}]{extra}))"
    return f'image.filter(ImageFilter.{fn})'


def signed(a):
    return '+' + num(a) if a >= 0 else num(a)


def im_kernel_string(k):
    name = k['name']
    if name == 'Unity':
        return 'Unity' if 'scale' not in k else f"Unity:{num(k['scale'])}"
    if name in ('Gaussian', 'LoG'):
        return f"{name}:{num(k['radius'])}x{num(k['sigma'])}"
    if name == 'DoG':
        return f"DoG:{num(k['radius'])},{num(k['sigma1'])},{num(k['sigma2'])}"
    if name == 'Blur':
        return f"Blur:{num(k['radius'])}x{num(k['sigma'])}" + (signed(k['angle']) if k.get('angle') else '')
    if name == 'Comet':
        return f"Comet:{num(k['width'])}x{num(k['sigma'])}" + (signed(k['angle']) if k.get('angle') else '')
    if name == 'Binomial':
        return f"Binomial:{num(k['radius'])}"
    if name == 'Laplacian':
        return f"Laplacian:{k['type']}"
    if name == 'FreiChen':
        return f"FreiChen:{k['type']},{num(k['angle'])}" if k.get('angle') else f"FreiChen:{k['type']}"
    if name in ('Sobel', 'Roberts', 'Prewitt', 'Compass', 'Kirsch'):
        return f"{name}:{num(k['angle'])}" if k.get('angle') else name
    if name in ('Rectangle', 'User'):
        w, h = k['width'], k['height']
        origin = ''
        if 'x' in k or 'y' in k:
            origin = f"+{k.get('x', (int(w) - 1) >> 1)}+{k.get('y', (int(h) - 1) >> 1)}"
        if name == 'Rectangle':
            return f'Rectangle:{num(w)}x{num(h)}{origin}'
        return f"{w}x{h}{origin}: " + ','.join(num(v) for v in k['values'])
    return f"{name}:{num(k['radius'])}" + (f",{num(k['scale'])}" if 'scale' in k else '')


def scale_string(s):
    head = (num(s['factor']) if 'factor' in s else '') + s.get('normalize', '')
    return (head or '1') + (f",{num(s['unity'])}" if 'unity' in s else '')


def im_args(spec):
    op = spec['op']
    if op in ('-blur', '-gaussian-blur', '-sharpen'):
        return [op, f"{num(spec['radius'])}x{num(spec['sigma'])}"]
    if op == '-unsharp':
        return [op, f"{num(spec['radius'])}x{num(spec['sigma'])}+{num(spec['gain'])}+{num(spec['threshold'])}"]
    defines = []
    if 'scale' in spec:
        defines += ['-define', f"convolve:scale={scale_string(spec['scale'])}"]
    if 'bias' in spec:
        defines += ['-define', f"convolve:bias={num(spec['bias'])}%"]
    head = ['-morphology', spec['method']] if op == '-morphology' else ['-convolve']
    return defines + head + [im_kernel_string(spec['kernel'])]


# ---------------------------------------------------------------------------------------------
# Running the tools

def run_pillow(arr, spec):
    call = pillow_call(spec)
    image = Image.fromarray(arr, 'L' if arr.ndim == 2 else 'RGB')
    out = eval(call, {'ImageFilter': ImageFilter, 'image': image})  # noqa: S307 - our own strings
    assert out.mode == image.mode and out.size == image.size, (call, out.mode, out.size)
    return call, np.asarray(out)


def read_png(path, like):
    out = Image.open(path)
    out.load()
    want = 'L' if like.ndim == 2 else 'RGB'
    # ImageMagick's PNG encoder stores an image losslessly in fewer bits when it can: 1-bit grey
    # for an image of only 0 and 255, grey for an RGB image whose channels came out equal, a
    # palette for few colours. The 8-bit values are the same.
    if out.mode in ('1', 'L', 'P') and out.mode != want:
        out = out.convert(want)
    if out.mode != want or out.size != (like.shape[1], like.shape[0]):
        raise SystemExit(f'{path}: ImageMagick wrote mode {out.mode} size {out.size}, expected {want} {like.shape}')
    return np.asarray(out)


def run_imagemagick(arr, png, spec, tmp):
    args = im_args(spec)
    out_png = os.path.join(tmp, 'out.png')
    if os.path.exists(out_png):
        os.remove(out_png)
    r = subprocess.run([CONVERT, png, *args, out_png], capture_output=True, text=True)
    if r.returncode != 0 or r.stderr.strip():
        raise SystemExit(f'convert {shlex.join(args)} failed or warned: {r.stderr.strip()}')
    try:
        out = read_png(out_png, arr)
    except SystemExit as e:
        raise SystemExit(f'convert {shlex.join(args)}: {e}')
    return shlex.join(['convert', 'in.png', *args, 'out.png']), out


def check_round_trip(arr, png, tmp):
    """`convert in.png out.png` must give the input back: no colour/gamma conversion."""
    out_png = os.path.join(tmp, 'rt.png')
    subprocess.run([CONVERT, png, out_png], check=True)
    if not np.array_equal(read_png(out_png, arr), arr):
        raise SystemExit(f'{png}: convert changes the values of a plain round trip')


def versions():
    def dpkg(pkg):
        r = subprocess.run(['dpkg-query', '-W', '-f=${Version}', pkg], capture_output=True, text=True)
        return r.stdout.strip() or 'unknown'
    im = subprocess.run([CONVERT, '-version'], capture_output=True, text=True, check=True).stdout.splitlines()
    return {
        'pillow': PIL.__version__,
        'python3-pil': dpkg('python3-pil'),
        'imagemagick': im[0].strip(),
        'imagemagick-features': next((l.strip() for l in im if l.startswith('Features')), ''),
        'imagemagick-6.q16': dpkg('imagemagick-6.q16'),
        'numpy': np.__version__,
    }


# ---------------------------------------------------------------------------------------------
# Inputs

def photo(name):
    return np.asarray(Image.open(os.path.join(PHOTOS, name + '.png')).convert('L'))


def synthetic(rng, h, w):
    """Hard edges, a thin line, saturated 0 and 255 areas, a ramp and noise."""
    y, x = np.mgrid[0:h, 0:w]
    img = 40.0 + 170.0 * x / (w - 1)
    img[(x - w * 0.6) ** 2 + (y - h * 0.45) ** 2 < (min(h, w) * 0.28) ** 2] = 255
    img[: h // 4, : w // 3] = 0
    img[:, w // 2] = 250
    img[h - 3:, :] = 255
    img[h // 2:, : w // 4] += rng.normal(0, 40, size=(h - h // 2, w // 4))
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def golden_inputs(rng):
    rgb = np.stack([photo('fruits')[50:65, 70:91], photo('butterfly')[30:45, 60:81], photo('home')[40:55, 20:41]], axis=-1)
    return {
        'baboon_40x33': photo('baboon')[40:73, 60:100],
        'building_23x17': photo('building')[70:87, 100:123],
        'synthetic_31x24': synthetic(rng, 24, 31),
        'tiny_4x3': rng.integers(0, 256, size=(3, 4), dtype=np.uint8),
        'rgb_21x15': np.ascontiguousarray(rgb),
    }


# ---------------------------------------------------------------------------------------------
# The golden grid

NAMED = ['BLUR', 'CONTOUR', 'DETAIL', 'EDGE_ENHANCE', 'EDGE_ENHANCE_MORE', 'EMBOSS', 'FIND_EDGES', 'SHARPEN', 'SMOOTH', 'SMOOTH_MORE']


def P(fn, **kw):
    return {'library': 'Pillow', 'fn': fn, **kw}


def IM(op, **kw):
    return {'library': 'ImageMagick', 'op': op, **kw}


def M(kernel, method='Convolve', **kw):
    return IM('-morphology', method=method, kernel=kernel, **kw)


def pillow_grid():
    specs = [P(n) for n in NAMED]
    specs += [
        P('Kernel', size=3, kernel=[1, 2, 3, 4, 5, 6, 7, 8, 9], scale=45),  # asymmetric: shows the vertical flip
        P('Kernel', size=3, kernel=[-1, 0, 1, -2, 0, 2, -1, 0, 1], scale=1, offset=128),
        P('Kernel', size=3, kernel=[0.1, 0.2, 0.05, 0.3, 0.7, -0.2, 0.05, 0.1, -0.3], scale=1, offset=0.3),
        P('Kernel', size=3, kernel=[1, 1, 1, 1, 1, 1, 1, 1, 1]),  # default scale: the sum (9)
        P('Kernel', size=5, kernel=[(i * 7) % 11 - 3 for i in range(25)], scale=13, offset=-20),
        P('Kernel', size=5, kernel=[1, 4, 6, 4, 1, 4, 16, 24, 16, 4, 6, 24, 36, 24, 6, 4, 16, 24, 16, 4, 1, 4, 6, 4, 1], scale=256),
    ]
    specs += [P('GaussianBlur', radius=r) for r in (0, 0.3, 0.5, 0.7, 1, 1.5, 2, 2.5, 3.3, 5, 8)]
    specs += [P('BoxBlur', radius=r) for r in (0, 0.25, 0.5, 1, 1.5, 2, 3.7, 6, 30)]
    specs += [P('UnsharpMask', radius=r, percent=p, threshold=t) for r, p, t in ((2, 150, 3), (1, 100, 0), (3.5, 250, 10), (0.8, 50, 1))]
    return specs


def imagemagick_grid():
    specs = [IM('-blur', radius=r, sigma=s) for r, s in ((0, 0.5), (0, 1), (0, 1.5), (0, 2.5), (0, 4), (2, 1), (3, 1.5), (1.5, 3), (0.5, 1), (1.3, 0.8))]
    specs += [IM('-gaussian-blur', radius=r, sigma=s) for r, s in ((0, 0.5), (0, 1), (0, 1.5), (0, 3), (2, 1), (4, 2), (1, 5), (0.6, 1), (2.4, 1))]
    specs += [IM('-sharpen', radius=r, sigma=s) for r, s in ((0, 0.5), (0, 1), (0, 2), (1, 1), (2, 1.5), (1.5, 1))]
    specs += [IM('-unsharp', radius=r, sigma=s, gain=g, threshold=t) for r, s, g, t in ((0, 1, 1, 0.05), (0, 2, 1.5, 0), (2, 1, 0.5, 0.1), (0, 0.8, 3, 0.02))]
    edge = [{'name': 'Sobel'}, {'name': 'Sobel', 'angle': 90}, {'name': 'Sobel', 'angle': 45}, {'name': 'Sobel', 'angle': 180},
            {'name': 'Sobel', 'angle': 270}, {'name': 'Prewitt'}, {'name': 'Prewitt', 'angle': 90}, {'name': 'Roberts'},
            {'name': 'Roberts', 'angle': 135}, {'name': 'Compass', 'angle': 45}, {'name': 'Kirsch'}, {'name': 'Kirsch', 'angle': 225},
            {'name': 'FreiChen', 'type': 0}, {'name': 'FreiChen', 'type': 1}, {'name': 'FreiChen', 'type': 2},
            {'name': 'FreiChen', 'type': 12}, {'name': 'FreiChen', 'type': 17}, {'name': 'FreiChen', 'type': 1, 'angle': 90}]
    specs += [M(k) for k in edge]
    specs += [M({'name': 'Laplacian', 'type': t}) for t in (0, 1, 2, 3, 5, 7, 15, 19)]
    specs += [
        M({'name': 'Gaussian', 'radius': 0, 'sigma': 1}), M({'name': 'Gaussian', 'radius': 2, 'sigma': 1.5}),
        M({'name': 'LoG', 'radius': 0, 'sigma': 1}), M({'name': 'LoG', 'radius': 3, 'sigma': 1.4}, bias=50),
        M({'name': 'DoG', 'radius': 0, 'sigma1': 1, 'sigma2': 2}, bias=50), M({'name': 'DoG', 'radius': 3, 'sigma1': 2, 'sigma2': 1}),
        M({'name': 'Blur', 'radius': 0, 'sigma': 1.5}), M({'name': 'Blur', 'radius': 0, 'sigma': 2, 'angle': 90}),
        M({'name': 'Blur', 'radius': 2.5, 'sigma': 1}),
        M({'name': 'Comet', 'width': 0, 'sigma': 2}), M({'name': 'Comet', 'width': 5, 'sigma': 2, 'angle': 90}),
        M({'name': 'Comet', 'width': 4, 'sigma': 1.5, 'angle': 180}),
        M({'name': 'Binomial', 'radius': 1}, scale={'normalize': '!'}), M({'name': 'Binomial', 'radius': 2}, scale={'normalize': '!'}),
        M({'name': 'Unity'}), M({'name': 'Unity', 'scale': 0.5}),
        M({'name': 'Square', 'radius': 1}, scale={'normalize': '!'}), M({'name': 'Square', 'radius': 1.5}, scale={'normalize': '!'}),
        M({'name': 'Square', 'radius': 2, 'scale': 0.04}),
        M({'name': 'Diamond', 'radius': 2}, scale={'normalize': '!'}), M({'name': 'Disk', 'radius': 2}, scale={'normalize': '!'}),
        M({'name': 'Disk', 'radius': 3.4}, scale={'normalize': '!'}), M({'name': 'Plus', 'radius': 2}, scale={'normalize': '!'}),
        M({'name': 'Cross', 'radius': 1}, scale={'normalize': '!'}), M({'name': 'Octagon', 'radius': 2}, scale={'normalize': '!'}),
        M({'name': 'Rectangle', 'width': 3, 'height': 5}, scale={'normalize': '!'}),
        M({'name': 'Rectangle', 'width': 4, 'height': 3, 'x': 0, 'y': 1}, scale={'normalize': '!'}),
        # scale and bias defines
        M({'name': 'Sobel'}, bias=50), M({'name': 'Sobel', 'angle': 90}, scale={'factor': 0.5}, bias=50),
        M({'name': 'Laplacian', 'type': 0}, bias=50), M({'name': 'Laplacian', 'type': 1}, scale={'factor': -1, 'unity': 1}),
        M({'name': 'Laplacian', 'type': 0}, scale={'normalize': '!', 'unity': 1}),
        M({'name': 'Sobel'}, scale={'normalize': '^'}, bias=50), M({'name': 'Gaussian', 'radius': 0, 'sigma': 1}, scale={'factor': 2}),
        # user kernels: Convolve flips, Correlate and -convolve do not
        M({'name': 'User', 'width': 3, 'height': 3, 'values': [1, 2, 3, 4, 5, 6, 7, 8, 9]}, scale={'normalize': '!'}),
        M({'name': 'User', 'width': 3, 'height': 3, 'values': [1, 2, 3, 4, 5, 6, 7, 8, 9]}, method='Correlate', scale={'normalize': '!'}),
        M({'name': 'User', 'width': 3, 'height': 3, 'x': 0, 'y': 0, 'values': [4, 2, 0, 2, 1, 0, 0, 0, 0]}, scale={'normalize': '!'}),
        M({'name': 'User', 'width': 5, 'height': 3, 'values': [(i * 5) % 7 - 2 for i in range(15)]}, bias=50),
        IM('-convolve', kernel={'name': 'User', 'width': 3, 'height': 3, 'values': [1, 2, 1, 2, 4, 2, 1, 2, 1]}),
        IM('-convolve', kernel={'name': 'User', 'width': 3, 'height': 3, 'values': [-1, -1, 0, -1, 0, 1, 0, 1, 1]}, bias=50),
        IM('-convolve', kernel={'name': 'User', 'width': 3, 'height': 3, 'values': [0, -1, 0, -1, 5.5, -1, 0, -1, 0]}),
    ]
    return specs


def golden_cases(inputs):
    """(input, spec) pairs: everything on the grey photos and the synthetic image, a subset on the rest."""
    cases = []
    pg, ig = pillow_grid(), imagemagick_grid()
    for name in ('baboon_40x33', 'building_23x17', 'synthetic_31x24', 'tiny_4x3', 'rgb_21x15'):
        cases += [(name, s) for s in pg]
    for name in ('baboon_40x33', 'building_23x17', 'synthetic_31x24'):
        cases += [(name, s) for s in ig]
    small = [s for s in ig if s['op'] != '-morphology' or s['kernel']['name'] in ('Sobel', 'Gaussian', 'Blur', 'Laplacian', 'User')]
    for name in ('tiny_4x3', 'rgb_21x15'):
        cases += [(name, s) for s in small]
    return cases


# ---------------------------------------------------------------------------------------------
# The random sweep

def sweep_cases(rng, n):
    """Random calls on random crops: continuous parameters drawn from the search ranges."""
    photos = [photo(p) for p in ('aero1', 'baboon', 'building', 'butterfly', 'fruits', 'home')]
    inputs, cases = {}, []
    logu = lambda a, b: float(np.round(np.exp(rng.uniform(np.log(a), np.log(b))), 3))
    for i in range(n):
        h, w = int(rng.integers(1, 60)), int(rng.integers(1, 60))
        p = photos[int(rng.integers(len(photos)))]
        y0, x0 = int(rng.integers(0, p.shape[0] - h)), int(rng.integers(0, p.shape[1] - w))
        arr = p[y0:y0 + h, x0:x0 + w]
        if rng.random() < 0.15:
            arr = np.ascontiguousarray(np.stack([arr, np.flipud(arr), np.fliplr(arr)], axis=-1))
        name = f'sweep{i}_{w}x{h}'
        inputs[name] = np.ascontiguousarray(arr)
        kind = int(rng.integers(12))
        r = logu(0.3, 10)
        if kind == 0:
            spec = P(NAMED[int(rng.integers(len(NAMED)))])
        elif kind == 1:
            size = int(rng.choice([3, 5]))
            k = [float(np.round(v, 2)) for v in rng.normal(0, 1, size * size)]
            spec = P('Kernel', size=size, kernel=k, scale=float(np.round(rng.uniform(0.5, 4), 2)), offset=float(np.round(rng.uniform(-50, 50), 1)))
        elif kind == 2:
            spec = P('GaussianBlur', radius=logu(0.1, 30))
        elif kind == 3:
            spec = P('BoxBlur', radius=float(np.round(rng.uniform(0, 12), 2)))
        elif kind == 4:
            spec = P('UnsharpMask', radius=r, percent=int(rng.integers(0, 400)), threshold=int(rng.integers(0, 12)))
        elif kind == 5:
            op = str(rng.choice(['-blur', '-gaussian-blur', '-sharpen']))
            radius = float(rng.choice([0, 0, 0, 1, 2, 3, 5, np.round(rng.uniform(0.1, 6), 2)]))
            if op == '-gaussian-blur' and radius >= 1 and int(2 * radius + 1) % 2 == 0:
                radius = float(int(radius))  # an even Gaussian is undefined in ImageMagick (see imagemagick-kernels.ts)
            spec = IM(op, radius=radius, sigma=logu(0.1, 10))
        elif kind == 6:
            spec = IM('-unsharp', radius=float(rng.choice([0, 0, 1, 2.5])), sigma=logu(0.3, 5), gain=float(np.round(rng.uniform(0, 4), 2)), threshold=float(np.round(rng.uniform(0, 0.2), 3)))
        elif kind == 7:
            k = {'name': str(rng.choice(['Sobel', 'Prewitt', 'Kirsch', 'Compass', 'Roberts'])), 'angle': int(rng.choice([0, 45, 90, 135, 180, 225, 270, 315]))}
            spec = M(k, bias=50) if rng.random() < 0.5 else M(k)
        elif kind == 8:
            spec = M({'name': str(rng.choice(['Gaussian', 'LoG'])), 'radius': 0, 'sigma': logu(0.5, 3)}, bias=50)
        elif kind == 9:
            spec = M({'name': 'DoG', 'radius': 0, 'sigma1': logu(0.5, 3), 'sigma2': logu(0.5, 3)}, bias=float(rng.choice([0, 50])))
        elif kind == 10:
            which = str(rng.choice(['Blur', 'Comet']))
            if which == 'Blur':
                k = {'name': 'Blur', 'radius': float(rng.choice([0, 0, 2, np.round(rng.uniform(1, 4), 1)])), 'sigma': logu(0.3, 4), 'angle': int(rng.choice([0, 90, 180, 270]))}
            else:
                k = {'name': 'Comet', 'width': float(rng.choice([0, 3, 6])), 'sigma': logu(0.5, 3), 'angle': int(rng.choice([0, 90, 180, 270]))}
            spec = M(k, method=str(rng.choice(['Convolve', 'Correlate'])))
        else:
            w, hh = int(rng.choice([1, 3, 5])), int(rng.choice([1, 3, 5]))
            vals = [int(v) for v in rng.integers(-4, 6, w * hh)]
            if sum(vals) == 0:
                vals[0] += 1
            k = {'name': 'User', 'width': w, 'height': hh, 'values': vals}
            if rng.random() < 0.3:
                k['x'], k['y'] = int(rng.integers(w)), int(rng.integers(hh))
            if rng.random() < 0.4:
                spec = IM('-convolve', kernel=k, bias=50) if rng.random() < 0.5 else IM('-convolve', kernel=k)
            else:
                spec = M(k, method=str(rng.choice(['Convolve', 'Correlate'])), scale={'normalize': '!'}, bias=50)
        cases.append((name, spec))
    return inputs, cases


# ---------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--out', default=os.path.join(ROOT, 'test', 'fixtures', 'pillow-imagemagick'))
    ap.add_argument('--sweep', type=int, default=0, help='write N random cases instead of the golden grid')
    ap.add_argument('--seed', type=int, default=20240611)
    args = ap.parse_args()
    if not os.access(CONVERT, os.X_OK):
        sys.exit(f'{CONVERT} not found: install Debian imagemagick')
    rng = np.random.default_rng(args.seed)
    if args.sweep:
        inputs, cases = sweep_cases(rng, args.sweep)
    else:
        inputs = golden_inputs(rng)
        cases = golden_cases(inputs)
    os.makedirs(args.out, exist_ok=True)
    for f in os.listdir(args.out):
        if f.endswith('.npy') or f == 'manifest.json':
            os.remove(os.path.join(args.out, f))
    stacks, manifest = {}, {'versions': versions(), 'inputs': {}, 'cases': []}
    with tempfile.TemporaryDirectory() as tmp:
        pngs = {}
        for name, arr in inputs.items():
            np.save(os.path.join(args.out, f'in_{name}.npy'), arr)
            manifest['inputs'][name] = {'file': f'in_{name}.npy', 'shape': list(arr.shape)}
            pngs[name] = os.path.join(tmp, f'{name}.png')
            Image.fromarray(arr).save(pngs[name])
            check_round_trip(arr, pngs[name], tmp)
        for name, spec in cases:
            arr = inputs[name]
            if spec['library'] == 'Pillow':
                call, out = run_pillow(arr, spec)
            else:
                call, out = run_imagemagick(arr, pngs[name], spec, tmp)
            key = f"out_{spec['library'].lower()}_{name}.npy"
            stacks.setdefault(key, []).append(out)
            manifest['cases'].append({'library': spec['library'], 'input': name, 'spec': spec, 'call': call, 'output': key, 'index': len(stacks[key]) - 1})
    for key, outs in stacks.items():
        np.save(os.path.join(args.out, key), np.stack(outs))
    with open(os.path.join(args.out, 'manifest.json'), 'w') as f:
        json.dump(manifest, f, indent=1)
        f.write('\n')
    print(f"{len(manifest['cases'])} cases, {len(inputs)} inputs -> {args.out}")


if __name__ == '__main__':
    main()
