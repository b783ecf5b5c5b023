#!/usr/bin/python3
"""A corpus of input/target pairs made by real libraries' filter calls, for `kernel-learn identify`
(which must name the call) and for the learner's tests (which must recover the kernel).

Run with Debian's python (numpy, cv2, scipy, skimage, PIL, torch; the python3 first on PATH lacks
them) and Debian's ImageMagick (/usr/bin/convert; /usr/local/bin/convert is a stand-in):

    cd /tmp && apt-get download opencv-doc && dpkg-deb -x opencv-doc_*.deb ocvdoc   # once
    /usr/bin/python3 tools/make_corpus.py                          # test/fixtures/corpus/, 96x96
    /usr/bin/python3 tools/make_corpus.py --size 512 --out /tmp/corpus512   # a large one, not committed

Inputs: six photographs from OpenCV's sample data (--photos), each centre-cropped to a square,
made grey with cv2.cvtColor(BGR2GRAY) and resized with INTER_AREA to --size. They are written once:
  inputs/<stem>.png       uint8, the pixels as the photos give them;
  inputs-f32/<stem>.npy   float32, the same pixels / 255 (for calls that take float images).
Each configuration writes only its targets, <name>/target/<stem>.<ext>, in the tool's native output
type: .png for 8-bit outputs, .npy for int16 and float32 outputs (as the call returns them), .jpg for
the one configuration whose targets went through JPEG. manifest.json lists every configuration:
  name, use          'identify' (kernel-learn identify must name the call), 'learn' (the learner's
                     tests), or both;
  library, call      the call exactly as it ran, with x the input array (for ImageMagick the shell
                     command, in.png/out.png for the files); for scipy, skimage, Pillow and ImageMagick
                     the same text as our libraryCallString prints;
  params             our TypeScript spec of the call (FilterSpec with library 'OpenCV', LibrarySpec,
                     or {library: 'PyTorch', fn: 'conv2d', kernel, padding} with the true weights);
  inputs             the inputs folder ('inputs' or 'inputs-f32'), whose every stem is used;
  target             {dtype: u8 | s16 | f32, ext};
  geometry           where each target pixel sits: target[y, x] = same[y + top, x + left], `same`
                     being the centred output (anchor at the kernel's centre, as cv2.filter2D) with
                     the call's own border handling; kinds:
                       same    top = left = 0, the input's size;
                       valid   top = left = r (r = kernel radius): only windows inside the input;
                       full    top = left = -r: zero padding r on every side, (H + 2r) x (W + 2r);
                       offset  a valid crop that is off-centre: top = margin + dy, left = margin + dx,
                               (H - 2 margin) x (W - 2 margin), i.e. the centred crop of `same`
                               with that margin, shifted by (dy, dx);
  heldOut            the stems a learner should hold out;
  save               (JPEG only) how the float result became the target file.
Deterministic: seeded numpy RNG, PNGs re-encoded by OpenCV (ImageMagick's carry timestamps), so a
rerun rewrites identical files.
"""
import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import warnings

import cv2
import numpy as np
import scipy
import scipy.ndimage
import skimage
import skimage.filters
import torch
import torch.nn.functional
from PIL import Image, ImageFilter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# The call strings of the golden tools: the same text as our TypeScript callString functions.
from make_pillow_imagemagick_golden import CONVERT, im_args, num, pillow_call, read_png, versions  # noqa: E402
from make_scipy_skimage_golden import call_string as py_call_string  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PHOTOS = '/tmp/ocvdoc/usr/share/doc/opencv-doc/examples/data'
SOURCES = ['baboon', 'building', 'butterfly', 'fruits', 'home', 'aero1']
HELD_OUT = ['fruits', 'aero1']
SEED = 20240720

CV_DEPTH = {'u8': 'cv2.CV_8U', 's16': 'cv2.CV_16S', 'u16': 'cv2.CV_16U', 'f32': 'cv2.CV_32F', 'f64': 'cv2.CV_64F'}
CV_BORDER = {'reflect': 'cv2.BORDER_REFLECT', 'replicate': 'cv2.BORDER_REPLICATE', 'constant': 'cv2.BORDER_CONSTANT', 'wrap': 'cv2.BORDER_WRAP'}
NP_NAME = {'u8': 'uint8', 's16': 'int16', 'u16': 'uint16', 'f32': 'float32', 'f64': 'float64'}
DEPTH_OF = {np.dtype(v): k for k, v in NP_NAME.items()}


# ---------------------------------------------------------------------------------------------
# OpenCV calls, printed by the rules of src/filters/libraries/opencv.ts (opencvCallString)

def py_rows(rows):
    return '[' + ', '.join('[' + ', '.join(num(v) for v in r) + ']' for r in rows) + ']'


def cv_call(spec, in_depth):
    """The cv2 call for a FilterSpec (every field given), with x an image of depth in_depth."""
    op, depth = spec['op'], spec['depth']
    tail = ''
    if spec.get('scale', 1) != 1:
        tail += f", scale={num(spec['scale'])}"
    if spec.get('delta', 0) != 0:
        tail += f", delta={num(spec['delta'])}"
    if spec.get('border', 'reflect101') != 'reflect101':
        tail += f", borderType={CV_BORDER[spec['border']]}"
    k = spec.get('ksize')
    if op == 'sobel':
        return f"cv2.Sobel(x, {CV_DEPTH[depth]}, {spec['dx']}, {spec['dy']}, ksize={k}{tail})"
    if op == 'scharr':
        return f"cv2.Scharr(x, {CV_DEPTH[depth]}, {spec['dx']}, {spec['dy']}{tail})"
    if op == 'laplacian':
        return f"cv2.Laplacian(x, {CV_DEPTH[depth]}, ksize={k}{tail})"
    if op == 'gaussian':
        src = 'x' if depth == in_depth else f'x.astype(np.{NP_NAME[depth]})'
        return f"cv2.GaussianBlur({src}, ({k}, {k}), {num(spec.get('sigma', 0))}{tail})"
    if op == 'box':
        if depth == in_depth:
            return f'cv2.blur(x, ({k}, {k}){tail})'
        return f'cv2.boxFilter(x, {CV_DEPTH[depth]}, ({k}, {k}){tail})'
    if op == 'kernel':
        return f"cv2.filter2D(x, {CV_DEPTH[depth]}, np.array({py_rows(spec['kernel'])}, np.float32){tail})"
    raise ValueError(op)


# ---------------------------------------------------------------------------------------------
# The configurations

def CV(name, use='identify', inputs='inputs', **spec):
    return {'name': name, 'use': use, 'library': 'OpenCV', 'inputs': inputs, 'params': {'library': 'OpenCV', **spec}}


def SP(name, fn, use='identify', inputs='inputs-f32', **kw):
    return {'name': name, 'use': use, 'library': 'scipy.ndimage', 'inputs': inputs, 'params': {'library': 'scipy.ndimage', 'fn': fn, **kw}}


def SK(name, fn, use='identify', inputs='inputs-f32', **kw):
    return {'name': name, 'use': use, 'library': 'skimage.filters', 'inputs': inputs, 'params': {'library': 'skimage.filters', 'fn': fn, **kw}}


def PIL_(name, fn, use='identify', **kw):
    return {'name': name, 'use': use, 'library': 'Pillow', 'inputs': 'inputs', 'params': {'library': 'Pillow', 'fn': fn, **kw}}


def IM(name, op, use='identify', **kw):
    return {'name': name, 'use': use, 'library': 'ImageMagick', 'inputs': 'inputs', 'params': {'library': 'ImageMagick', 'op': op, **kw}}


def TORCH(name, kernel, padding=0, crop=None):
    return {'name': name, 'use': 'learn', 'library': 'PyTorch', 'inputs': 'inputs-f32',
            'params': {'library': 'PyTorch', 'fn': 'conv2d', 'padding': padding, 'kernel': kernel}, 'crop': crop}


def CURVE(name, call):
    """
    A kernel with a pointwise curve around it, written as numpy and OpenCV calls (the curve stages'
    tests). Held out: two photographs whose values lie within the others' (a curve is learned where
    the training data puts the kernel's output, and continues straight beyond; fruits has darker
    shadows than any other photograph here).
    """
    return {'name': name, 'use': 'learn', 'library': 'numpy', 'inputs': 'inputs', 'params': {'library': 'numpy', 'call': call}, 'heldOut': ['baboon', 'aero1']}


def srgb_decode(x):
    """8-bit sRGB to linear light in [0, 1] (IEC 61966-2-1), float32."""
    v = x.astype(np.float32) / 255
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4).astype(np.float32)


def srgb_encode(v):
    """Linear light in [0, 1] to 8-bit sRGB, rounded (as an image editor saves it)."""
    e = np.where(v <= 0.0031308, 12.92 * v, 1.055 * np.maximum(v, 0) ** (1 / 2.4) - 0.055)
    return np.clip(np.rint(255 * e), 0, 255).astype(np.uint8)


def configurations(rng):
    sobel = [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
    sharpen = [[0, -1, 0], [-1, 5, -1], [0, -1, 0]]
    # float32 weights, drawn once: the negative case (no named call makes them) and the learner's kernels
    random5 = rng.normal(0, 1, (5, 5)).astype(np.float32).tolist()
    torch5 = rng.normal(0, 0.2, (5, 5)).astype(np.float32).tolist()
    torch7 = rng.normal(0, 0.1, (7, 7)).astype(np.float32).tolist()
    return [
        # OpenCV (u8 inputs unless said otherwise)
        CV('cv_sobel_dx_s16', op='sobel', dx=1, dy=0, ksize=3, depth='s16'),
        CV('cv_sobel_dy_k5_s16', op='sobel', dx=0, dy=1, ksize=5, depth='s16'),
        CV('cv_sobel_dx_u8_scale_delta', op='sobel', dx=1, dy=0, ksize=3, scale=0.25, delta=128, depth='u8'),
        CV('cv_sobel_dy_u8', op='sobel', dx=0, dy=1, ksize=3, depth='u8'),
        CV('cv_sobel_dxdy_f32', op='sobel', dx=1, dy=1, ksize=3, scale=0.5, depth='f32'),
        CV('cv_scharr_dy_s16', op='scharr', dx=0, dy=1, depth='s16'),
        CV('cv_laplacian_k1_s16', op='laplacian', ksize=1, depth='s16'),
        CV('cv_laplacian_k3_replicate_s16', op='laplacian', ksize=3, border='replicate', depth='s16'),
        CV('cv_gaussian_sigma_u8', op='gaussian', ksize=0, sigma=1.3, depth='u8'),
        CV('cv_gaussian_k5_u8', op='gaussian', ksize=5, sigma=1.5, depth='u8'),
        CV('cv_gaussian_k7_reflect_f32', op='gaussian', ksize=7, sigma=2, border='reflect', depth='f32'),
        CV('cv_blur5_u8', op='box', ksize=5, depth='u8'),
        CV('cv_boxfilter3_f32', op='box', ksize=3, depth='f32'),
        CV('cv_filter2d_sharpen_u8', op='kernel', kernel=sharpen, depth='u8'),
        CV('cv_filter2d_sharpen_constant_s16', op='kernel', kernel=sharpen, border='constant', depth='s16'),
        CV('cv_filter2d_sobel_replicate_s16', op='kernel', kernel=sobel, border='replicate', depth='s16'),
        CV('cv_filter2d_random5_f32', op='kernel', kernel=random5, depth='f32'),
        # scipy.ndimage
        SP('scipy_sobel_axis0_f32', 'sobel', axis=0),
        SP('scipy_sobel_axis1_nearest_f32', 'sobel', axis=1, mode='nearest'),
        SP('scipy_prewitt_axis1_s16', 'prewitt', inputs='inputs', axis=1, output='s16'),
        SP('scipy_laplace_mirror_s16', 'laplace', inputs='inputs', mode='mirror', output='s16'),
        SP('scipy_gaussian_s1.5_f32', 'gaussian_filter', sigma=1.5),
        SP('scipy_gaussian_s1.2_u8', 'gaussian_filter', inputs='inputs', sigma=1.2),
        SP('scipy_gaussian_s2_nearest_trunc2.5_u8', 'gaussian_filter', inputs='inputs', sigma=2, mode='nearest', truncate=2.5),
        SP('scipy_gaussian_s0.8_mirror_u8', 'gaussian_filter', inputs='inputs', sigma=0.8, mode='mirror'),
        SP('scipy_uniform3_u8', 'uniform_filter', inputs='inputs', size=3),
        SP('scipy_uniform5_nearest_u8', 'uniform_filter', inputs='inputs', size=5, mode='nearest'),
        SP('scipy_correlate3_s16', 'correlate', inputs='inputs', weights=[[1, 2, 0], [2, 0, -2], [0, -2, -1]], output='s16'),
        # skimage.filters (float32 in, float32 out)
        SK('skimage_sobel', 'sobel'),
        SK('skimage_sobel_h', 'sobel_h'),
        SK('skimage_scharr_v', 'scharr_v'),
        SK('skimage_prewitt', 'prewitt'),
        SK('skimage_farid', 'farid'),
        SK('skimage_gaussian_s1', 'gaussian'),
        SK('skimage_gaussian_s2', 'gaussian', sigma=2),
        # Pillow (8-bit)
        PIL_('pillow_sharpen', 'SHARPEN', use='identify learn'),
        PIL_('pillow_smooth', 'SMOOTH'),
        PIL_('pillow_edge_enhance', 'EDGE_ENHANCE'),
        PIL_('pillow_find_edges', 'FIND_EDGES'),
        PIL_('pillow_gaussian2', 'GaussianBlur', radius=2),
        PIL_('pillow_gaussian1.5', 'GaussianBlur', use='learn', radius=1.5),
        PIL_('pillow_boxblur1', 'BoxBlur', radius=1),
        PIL_('pillow_kernel3_emboss', 'Kernel', size=3, kernel=[-1, -1, 0, -1, 0, 1, 0, 1, 1], scale=1, offset=128),
        # ImageMagick (8-bit PNG)
        IM('im_blur_0x1.5', '-blur', radius=0, sigma=1.5),
        IM('im_gaussian_blur_0x2', '-gaussian-blur', radius=0, sigma=2),
        IM('im_gaussian_blur_0x1.5', '-gaussian-blur', use='learn', radius=0, sigma=1.5),
        IM('im_sharpen_0x1', '-sharpen', radius=0, sigma=1),
        IM('im_sobel', '-morphology', method='Convolve', kernel={'name': 'Sobel'}),
        IM('im_laplacian0_bias50', '-morphology', method='Convolve', kernel={'name': 'Laplacian', 'type': 0}, bias=50),
        # for the learner
        TORCH('torch_valid5', torch5),
        TORCH('torch_full5', torch5, padding=4),
        TORCH('torch_offset7', torch7, crop={'dy': 3, 'dx': -2}),
        SP('scipy_gaussian_s3_f32', 'gaussian_filter', use='learn', sigma=3),
        {**CV('cv_gaussian_k5_f32_jpeg90', use='learn', op='gaussian', ksize=5, sigma=0, depth='f32'), 'jpeg': 90},
        CV('cv_gaussian_s2.5_u8', use='learn', op='gaussian', ksize=0, sigma=2.5, depth='u8'),
        # curves around a kernel
        CURVE('curve_gamma_after_gaussian_f32', '(255 * (cv2.GaussianBlur(x.astype(np.float32), (5, 5), 1.2) / 255) ** (1 / 2.2)).astype(np.float32)'),
        CURVE('curve_srgb_linear_light_blur_u8', 'srgb_encode(cv2.GaussianBlur(srgb_decode(x), (7, 7), 1.5))'),
        CURVE('curve_sigmoid_after_sobel_f32', '(255 / (1 + np.exp(-cv2.Sobel(x, cv2.CV_32F, 1, 0, ksize=3) / 128))).astype(np.float32)'),
    ]


# ---------------------------------------------------------------------------------------------
# Running them

def load_inputs(photos, size):
    """Centre square crop, grey, INTER_AREA resize: uint8 (H, W) per stem."""
    out = {}
    for stem in SOURCES:
        path = os.path.join(photos, stem + '.jpg')
        bgr = cv2.imread(path, cv2.IMREAD_COLOR)
        if bgr is None:
            sys.exit(f'{path}: not found; extract opencv-doc first (see this script\'s docstring) or pass --photos')
        grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        h, w = grey.shape
        s = min(h, w)
        y0, x0 = (h - s) // 2, (w - s) // 2
        out[stem] = cv2.resize(grey[y0:y0 + s, x0:x0 + s], (size, size), interpolation=cv2.INTER_AREA)
    return out


def run_torch(x, cfg):
    p = cfg['params']
    w = torch.tensor(p['kernel'], dtype=torch.float32)[None, None]
    r = len(p['kernel']) // 2
    call = 'torch.nn.functional.conv2d(x, w)' if p['padding'] == 0 else f"torch.nn.functional.conv2d(x, w, padding={p['padding']})"
    crop = cfg.get('crop')
    if crop:
        # the centred crop of `same` with margin m, shifted by (dy, dx); valid[i, j] = same[i + r, j + r]
        m = r + max(abs(crop['dy']), abs(crop['dx']))
        h, wd = x.shape
        y0, x0 = m + crop['dy'] - r, m + crop['dx'] - r
        call += f'[..., {y0}:{y0 + h - 2 * m}, {x0}:{x0 + wd - 2 * m}]'
    with torch.no_grad():
        y = eval(call, {'torch': torch, 'x': torch.from_numpy(x)[None, None], 'w': w})  # noqa: S307 - our own strings
    return call, y[0, 0].numpy()


def geometry(cfg, shape_in, shape_out):
    h, w = shape_in
    if cfg['library'] != 'PyTorch':
        return {'kind': 'same', 'top': 0, 'left': 0}
    r = len(cfg['params']['kernel']) // 2
    crop = cfg.get('crop')
    if crop:
        m = r + max(abs(crop['dy']), abs(crop['dx']))
        g = {'kind': 'offset', 'top': m + crop['dy'], 'left': m + crop['dx'], 'dy': crop['dy'], 'dx': crop['dx'], 'margin': m}
    elif cfg['params']['padding'] == 0:
        g = {'kind': 'valid', 'top': r, 'left': r}
    else:
        g = {'kind': 'full', 'top': -r, 'left': -r}
    expect = {'valid': (h - 2 * r, w - 2 * r), 'full': (h + 2 * r, w + 2 * r), 'offset': (h - 2 * g.get('margin', 0), w - 2 * g.get('margin', 0))}[g['kind']]
    assert shape_out == expect, (cfg['name'], shape_out, expect)
    return g


def run_imagemagick(x, spec, tmp):
    src, dst = os.path.join(tmp, 'in.png'), os.path.join(tmp, 'out.png')
    cv2.imwrite(src, x)
    if os.path.exists(dst):
        os.remove(dst)
    args = im_args(spec)
    r = subprocess.run([CONVERT, src, *args, dst], capture_output=True, text=True)
    if r.returncode != 0 or r.stderr.strip():
        sys.exit(f'convert {shlex.join(args)} failed or warned: {r.stderr.strip()}')
    return shlex.join(['convert', 'in.png', *args, 'out.png']), read_png(dst, x)


def run_call(cfg, x, tmp):
    """(call string, output array) for one input image x."""
    lib, spec = cfg['library'], cfg['params']
    if lib == 'PyTorch':
        return run_torch(x, cfg)
    if lib == 'ImageMagick':
        return run_imagemagick(x, spec, tmp)
    if lib == 'numpy':
        call = spec['call']
        return call, eval(call, {'cv2': cv2, 'np': np, 'srgb_decode': srgb_decode, 'srgb_encode': srgb_encode, 'x': x})  # noqa: S307
    if lib == 'Pillow':
        call = pillow_call(spec)
        return call, np.asarray(eval(call, {'ImageFilter': ImageFilter, 'image': Image.fromarray(x, 'L')}))  # noqa: S307
    call = cv_call(spec, DEPTH_OF[x.dtype]) if lib == 'OpenCV' else py_call_string(spec)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        y = eval(call, {'cv2': cv2, 'np': np, 'scipy': scipy, 'skimage': skimage, 'x': x})  # noqa: S307
    return call, y


def save_target(path_stem, y, cfg):
    """The target file in the call's native type; returns (dtype, ext)."""
    if cfg.get('jpeg'):
        y8 = np.clip(np.rint(y), 0, 255).astype(np.uint8)  # saturate_cast, as cv2.imwrite would
        cv2.imwrite(path_stem + '.jpg', y8, [cv2.IMWRITE_JPEG_QUALITY, cfg['jpeg']])
        return 'u8', '.jpg'
    depth = DEPTH_OF[y.dtype]
    if depth == 'u8':
        cv2.imwrite(path_stem + '.png', y)
        return depth, '.png'
    if depth == 'f64':
        raise SystemExit(f"{cfg['name']}: float64 output; keep the corpus float32 (give the call float32 input)")
    np.save(path_stem + '.npy', y)
    return depth, '.npy'


def write_inputs(out, images):
    for folder in ('inputs', 'inputs-f32'):
        os.makedirs(os.path.join(out, folder), exist_ok=True)
    for stem, img in images.items():
        cv2.imwrite(os.path.join(out, 'inputs', stem + '.png'), img)
        np.save(os.path.join(out, 'inputs-f32', stem + '.npy'), (img / 255).astype(np.float32))
    return {'inputs': images, 'inputs-f32': {s: (img / 255).astype(np.float32) for s, img in images.items()}}


def make_config(out, cfg, inputs, tmp):
    folder = os.path.join(out, cfg['name'], 'target')
    os.makedirs(folder)
    calls, kinds = set(), set()
    geom = None
    for stem, x in inputs[cfg['inputs']].items():
        call, y = run_call(cfg, x, tmp)
        calls.add(call)
        kinds.add(save_target(os.path.join(folder, stem), y, cfg))
        geom = geometry(cfg, x.shape, y.shape)
    assert len(calls) == 1 and len(kinds) == 1, (cfg['name'], calls, kinds)
    dtype, ext = kinds.pop()
    entry = {'name': cfg['name'], 'use': cfg['use'].split(), 'library': cfg['library'], 'call': calls.pop(), 'params': cfg['params'],
             'inputs': cfg['inputs'], 'target': {'dtype': dtype, 'ext': ext}, 'geometry': geom, 'heldOut': cfg.get('heldOut', HELD_OUT)}
    if cfg.get('jpeg'):
        entry['save'] = f"np.clip(np.rint(y), 0, 255).astype(np.uint8) written by cv2.imwrite with IMWRITE_JPEG_QUALITY {cfg['jpeg']}"
    return entry


def write_manifest(out, size, configs):
    manifest = {
        'about': 'made by tools/make_corpus.py; its docstring explains every field',
        'versions': {**versions(), 'opencv': cv2.__version__, 'scipy': scipy.__version__, 'skimage': skimage.__version__, 'torch': torch.__version__},
        'size': size,
        'stems': SOURCES,
        'configurations': configs,
    }
    with open(os.path.join(out, 'manifest.json'), 'w') as f:
        f.write('{\n')
        for i, (key, value) in enumerate(manifest.items()):
            f.write(f' {json.dumps(key)}: ')
            if isinstance(value, list) and key == 'configurations':
                f.write('[\n' + ',\n'.join('  ' + json.dumps(v) for v in value) + '\n ]')  # one line each: small diffs
            else:
                f.write(json.dumps(value))
            f.write(',\n' if i < len(manifest) - 1 else '\n')
        f.write('}\n')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--out', default=os.path.join(ROOT, 'test', 'fixtures', 'corpus'))
    ap.add_argument('--size', type=int, default=96, help='side of the square inputs (default 96)')
    ap.add_argument('--photos', default=PHOTOS, help="folder with OpenCV's sample photos")
    args = ap.parse_args()
    if not os.access(CONVERT, os.X_OK):
        sys.exit(f'{CONVERT} not found: install Debian imagemagick')
    torch.set_num_threads(1)  # one summation order, whatever the machine
    images = load_inputs(args.photos, args.size)
    if os.path.isdir(args.out):
        if os.listdir(args.out) and not os.path.exists(os.path.join(args.out, 'manifest.json')):
            sys.exit(f'{args.out}: exists and is not a corpus (no manifest.json); give an empty or new folder')
        shutil.rmtree(args.out)  # a rerun rewrites the corpus: no stale configurations left behind
    os.makedirs(args.out)
    inputs = write_inputs(args.out, images)
    entries = []
    with tempfile.TemporaryDirectory() as tmp:
        for cfg in configurations(np.random.default_rng(SEED)):
            entries.append(make_config(args.out, cfg, inputs, tmp))
    write_manifest(args.out, args.size, entries)
    shutil.copy(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus_README.md'), os.path.join(args.out, 'README.md'))
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(args.out) for f in fs)
    print(f'{len(entries)} configurations ({sum("identify" in e["use"] for e in entries)} for identify), {total / 1e6:.2f} MB in {args.out}')


if __name__ == '__main__':
    main()
