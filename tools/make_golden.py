#!/usr/bin/python3
"""Golden fixtures for the reference filters (src/filters/), made with OpenCV itself.

Run with Debian's python3-opencv (OpenCV 4.6; the python3 on PATH may lack cv2):

    /usr/bin/python3 tools/make_golden.py          # or: npm run golden

It writes test/fixtures/opencv/: input and output images as .npy (HWC for colour, as numpy and
OpenCV hold them) and manifest.json, which lists
  - cases:    {name, input, output, spec, opencv, ties?}: spec is our FilterSpec
              (src/filters/spec.ts), opencv the exact call that made the output; ties marks the
              cases whose integer outputs may differ by 1 where the exact value is a .5 tie;
  - refused:  cases OpenCV refuses, with its error; applyFilter must refuse them too. Border wrap
              is OpenCV after copyMakeBorder(BORDER_WRAP) (pad by the kernel's radius, filter,
              crop: run_cv_wrap), which is how kernel-learn defines it where cv::FilterEngine
              refuses BORDER_WRAP;
  - gridOps, grid: a wide sweep of op (an index into gridOps) x input depth x output depth x
              border with only OpenCV's verdict (accepted or refused), so the tests check that we
              refuse exactly what OpenCV refuses;
  - borderInterpolate, derivKernels, gaussianKernels: tables from cv2.borderInterpolate,
              cv2.getDerivKernels and cv2.getGaussianKernel (float64);
  - saturate: saturate_cast<T>(double) for awkward values (ties, out of range, NaN, inf), as
              Python repr strings ('nan', 'inf'), taken from a 1x1 boxFilter of an f64 column.
Everything is deterministic (seeded numpy); re-running rewrites identical files for the same
OpenCV/numpy versions. Keep the folder small: images are small on purpose.
"""
import json
import os
import shutil
import sys

import cv2
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'opencv')

BORDERS = {
    'reflect101': cv2.BORDER_REFLECT_101,
    'reflect': cv2.BORDER_REFLECT,
    'replicate': cv2.BORDER_REPLICATE,
    'constant': cv2.BORDER_CONSTANT,
    'wrap': cv2.BORDER_WRAP,
}
CV_DEPTH = {'u8': cv2.CV_8U, 's16': cv2.CV_16S, 'u16': cv2.CV_16U, 'f32': cv2.CV_32F, 'f64': cv2.CV_64F}
NP_DTYPE = {'u8': np.uint8, 's16': np.int16, 'u16': np.uint16, 'f32': np.float32, 'f64': np.float64}
DEPTH_OF = {np.dtype(v): k for k, v in NP_DTYPE.items()}
RANGE = {'u8': (0, 255), 's16': (-32768, 32767), 'u16': (0, 65535)}

rng = np.random.default_rng(20240607)
inputs = {}


def saturate(img, depth):
    """Our convertDepth: OpenCV's saturate_cast (round half to even, then clamp)."""
    if depth in ('f32', 'f64'):
        return img.astype(NP_DTYPE[depth])
    lo, hi = RANGE[depth]
    return np.clip(np.rint(img.astype(np.float64)), lo, hi).astype(NP_DTYPE[depth])


def structured(h, w):
    """Edges, a ramp, a disc and noise: something a filter has to get right everywhere."""
    y, x = np.mgrid[0:h, 0:w]
    img = 40 + 150 * (x / max(w - 1, 1)) + 30 * np.sin(y / 3.0)
    img[(x - w * 0.6) ** 2 + (y - h * 0.4) ** 2 < (min(h, w) * 0.3) ** 2] = 235
    img[:, : w // 5] = 10
    img += rng.normal(0, 6, size=(h, w))
    return img


def add_input(name, arr):
    inputs[name] = arr
    np.save(os.path.join(OUT, name + '.npy'), arr)
    return name


def make_inputs():
    add_input('u8_7x5', rng.integers(0, 256, size=(7, 5), dtype=np.uint8))
    add_input('u8_47x61', np.clip(np.rint(structured(47, 61)), 0, 255).astype(np.uint8))
    add_input('u8_17x13', rng.integers(0, 256, size=(17, 13), dtype=np.uint8))
    add_input('u8_1x1', np.array([[173]], dtype=np.uint8))
    add_input('u8_2x3', rng.integers(0, 256, size=(2, 3), dtype=np.uint8))
    add_input('u8_1x9', rng.integers(0, 256, size=(1, 9), dtype=np.uint8))
    add_input('u8_9x1', rng.integers(0, 256, size=(9, 1), dtype=np.uint8))
    add_input('u8c3_13x11', rng.integers(0, 256, size=(13, 11, 3), dtype=np.uint8))
    add_input('f32_7x5', (rng.random((7, 5)) * 400 - 100).astype(np.float32))
    add_input('f32_47x61', (structured(47, 61) / 255.0).astype(np.float32))
    add_input('f32_1x1', np.array([[0.75]], dtype=np.float32))
    add_input('f32_2x3', (rng.random((2, 3)) * 10 - 5).astype(np.float32))
    add_input('f32c3_13x11', (rng.random((13, 11, 3)) * 2 - 0.5).astype(np.float32))
    add_input('u16_9x11', rng.integers(0, 65536, size=(9, 11), dtype=np.uint16))
    add_input('s16_9x11', rng.integers(-3000, 3000, size=(9, 11), dtype=np.int16))
    add_input('f64_9x11', rng.random((9, 11)) * 100 - 50)


def radius(img, spec):
    """(ry, rx): how far the filter reads from an output pixel (the kernel's radius), for
    copyMakeBorder. Any pad at least this large gives the same crop."""
    op = spec['op']
    if op in ('sobel', 'laplacian'):
        r = max(spec.get('ksize', 3 if op == 'sobel' else 1), 3) // 2  # ksize 1 is a 3-tap kernel
        return r, r
    if op == 'scharr':
        return 1, 1
    if op == 'gaussian':
        sigma = spec.get('sigma', 0.0)
        k = spec.get('ksize', 0 if sigma > 0 else 3)
        if k == 0:  # OpenCV's size from sigma (createGaussianKernels): 3 sigma for 8-bit, else 4
            k = int(np.rint(sigma * (3 if spec.get('depth', 'f32') == 'u8' else 4) * 2 + 1)) | 1
        return k // 2, k // 2
    if op == 'box':
        k = spec.get('ksize', 3)
        return k // 2, k // 2
    kern = spec['kernel']
    return len(kern) // 2, len(kern[0]) // 2


def run_cv_wrap(img, spec):
    """Border wrap as kernel-learn defines it (src/filters/ops.ts): copyMakeBorder(BORDER_WRAP) by
    the kernel's radius, the filter with BORDER_REFLECT_101 (any border gives the same crop), a
    crop. cv::FilterEngine refuses BORDER_WRAP; where OpenCV takes it natively (8/16-bit
    GaussianBlur, the DFT filter2D) the native result must agree, which is checked here."""
    ry, rx = radius(img, spec)
    h, w = img.shape[:2]
    padded = cv2.copyMakeBorder(img, ry, ry, rx, rx, cv2.BORDER_WRAP)
    out, call = run_cv(padded, dict(spec, border='reflect101'))
    out = out[ry:ry + h, rx:rx + w]
    try:
        native, _ = run_cv(img, spec, native_wrap=True)
    except cv2.error:
        native = None
    if native is not None:
        scale = max(float(np.abs(out.astype(np.float64)).max()), 1e-30)
        diff = float(np.abs(native.astype(np.float64) - out.astype(np.float64)).max())
        assert diff <= (0 if out.dtype.kind in 'iu' else 1e-5 * scale), (spec, 'native BORDER_WRAP differs from pad + filter + crop by', diff)
    call = f'cv2.copyMakeBorder(src, {ry}, {ry}, {rx}, {rx}, cv2.BORDER_WRAP) -> {call} -> [{ry}:{ry}+H, {rx}:{rx}+W]'
    return np.ascontiguousarray(out), call


def run_cv(img, spec, native_wrap=False):
    """Our FilterSpec, as the OpenCV call it means. Returns (output, call description)."""
    if spec.get('border') == 'wrap' and not native_wrap:
        return run_cv_wrap(img, spec)
    op = spec['op']
    border = BORDERS[spec.get('border', 'reflect101')]
    depth = spec.get('depth', 'f32')
    dd = CV_DEPTH[depth]
    scale = spec.get('scale', 1.0)
    delta = spec.get('delta', 0.0)
    bname = 'cv2.BORDER_' + {'reflect101': 'REFLECT_101'}.get(spec.get('border', 'reflect101'), spec.get('border', 'reflect101').upper())
    if op == 'sobel':
        dx, dy, k = spec.get('dx', 1), spec.get('dy', 0), spec.get('ksize', 3)
        out = cv2.Sobel(img, dd, dx, dy, ksize=k, scale=scale, delta=delta, borderType=border)
        call = f'cv2.Sobel(src, {dd}, {dx}, {dy}, ksize={k}, scale={scale}, delta={delta}, borderType={bname})'
    elif op == 'scharr':
        dx, dy = spec.get('dx', 1), spec.get('dy', 0)
        out = cv2.Scharr(img, dd, dx, dy, scale=scale, delta=delta, borderType=border)
        call = f'cv2.Scharr(src, {dd}, {dx}, {dy}, scale={scale}, delta={delta}, borderType={bname})'
    elif op == 'laplacian':
        k = spec.get('ksize', 1)
        out = cv2.Laplacian(img, dd, ksize=k, scale=scale, delta=delta, borderType=border)
        call = f'cv2.Laplacian(src, {dd}, ksize={k}, scale={scale}, delta={delta}, borderType={bname})'
    elif op == 'gaussian':
        sigma = spec.get('sigma', 0.0)
        k = spec.get('ksize', 0 if sigma > 0 else 3)
        src = img if DEPTH_OF[img.dtype] == depth else saturate(img, depth)
        out = cv2.GaussianBlur(src, (k, k), sigma, borderType=border)
        call = f'cv2.GaussianBlur(saturate(src, {depth!r}), ({k}, {k}), {sigma}, borderType={bname})'
    elif op == 'box':
        k = spec.get('ksize', 3)
        out = cv2.boxFilter(img, dd, (k, k), normalize=True, borderType=border)
        call = f'cv2.boxFilter(src, {dd}, ({k}, {k}), normalize=True, borderType={bname})'
    elif op == 'kernel':
        kern = np.array(spec['kernel'], dtype=np.float64) * scale
        out = cv2.filter2D(img, dd, kern, delta=delta, borderType=border)
        call = f'cv2.filter2D(src, {dd}, np.array(kernel) * {scale}, delta={delta}, borderType={bname})'
    else:
        raise ValueError(op)
    assert out.dtype == NP_DTYPE[depth], (spec, out.dtype)
    return out, call


def f32_kernel(h, w, seed, scale=1.0):
    """A random kernel whose values are float32 numbers (so JSON holds exactly what OpenCV uses)."""
    r = np.random.default_rng(seed)
    return [[float(np.float32(v * scale)) for v in row] for row in r.normal(0, 1, size=(h, w))]


def case_list():
    cases = []

    def add(name, inp, **spec):
        cases.append((name, inp, spec))

    # Every Sobel aperture with the common orders, u8 -> s16 (the classic cv2.Sobel use).
    for k in (1, 3, 5, 7):
        for dx, dy in ((1, 0), (0, 1), (1, 1), (2, 0), (0, 2)):
            add(f'sobel_k{k}_dx{dx}_dy{dy}_u8_s16', 'u8_47x61', op='sobel', dx=dx, dy=dy, ksize=k, depth='s16')
    add('sobel_k3_dx2_dy1_u8_f32', 'u8_17x13', op='sobel', dx=2, dy=1, ksize=3, depth='f32')
    add('sobel_k7_dx3_dy2_f32_f32', 'f32_47x61', op='sobel', dx=3, dy=2, ksize=7, depth='f32')
    add('sobel_k5_dx1_dy1_f32_f32', 'f32_47x61', op='sobel', dx=1, dy=1, ksize=5, depth='f32')
    add('sobel_k1_dx1_dy0_f32_f32', 'f32_47x61', op='sobel', dx=1, dy=0, ksize=1, depth='f32')
    # Scharr.
    add('scharr_dx1_u8_s16', 'u8_47x61', op='scharr', dx=1, dy=0, depth='s16')
    add('scharr_dy1_u8_s16', 'u8_47x61', op='scharr', dx=0, dy=1, depth='s16')
    add('scharr_dx1_f32_f32', 'f32_47x61', op='scharr', dx=1, dy=0, depth='f32')
    add('scharr_dy1_f32_f64', 'f32_7x5', op='scharr', dx=0, dy=1, depth='f64')
    # Every border (wrap: copyMakeBorder(BORDER_WRAP), filter, crop; see run_cv_wrap).
    for b in BORDERS:
        add(f'sobel_k3_dx1_u8_7x5_{b}', 'u8_7x5', op='sobel', dx=1, dy=0, ksize=3, border=b, depth='s16')
        add(f'sobel_k5_dx1_dy1_f32_7x5_{b}', 'f32_7x5', op='sobel', dx=1, dy=1, ksize=5, border=b, depth='f32')
        add(f'laplacian_k5_u8_17x13_{b}', 'u8_17x13', op='laplacian', ksize=5, border=b, depth='s16')
        add(f'gaussian_k5_u8_17x13_{b}', 'u8_17x13', op='gaussian', ksize=5, sigma=1.2, border=b, depth='u8')
        add(f'box_k3_u8_7x5_{b}', 'u8_7x5', op='box', ksize=3, border=b, depth='u8')
        add(f'kernel_3x3_f32_7x5_{b}', 'f32_7x5', op='kernel', kernel=f32_kernel(3, 3, 3), border=b, depth='f32')
    # Every output depth, from u8 and from f32.
    for d in CV_DEPTH:
        add(f'sobel_k3_dx1_u8_to_{d}', 'u8_17x13', op='sobel', dx=1, dy=0, ksize=3, depth=d)
        add(f'sobel_k3_dy1_f32_to_{d}', 'f32_7x5', op='sobel', dx=0, dy=1, ksize=3, depth=d)
    add('sobel_k3_dx1_u16_to_f32', 'u16_9x11', op='sobel', dx=1, dy=0, ksize=3, depth='f32')
    add('sobel_k3_dx1_s16_to_s16', 's16_9x11', op='sobel', dx=1, dy=0, ksize=3, depth='s16')
    add('sobel_k3_dx1_f64_to_f64', 'f64_9x11', op='sobel', dx=1, dy=0, ksize=3, depth='f64')
    add('sobel_k3_dx1_f64_to_u8', 'f64_9x11', op='sobel', dx=1, dy=0, ksize=3, depth='u8')
    # Tiny images and kernels larger than the image.
    for inp in ('u8_1x1', 'u8_2x3', 'u8_1x9', 'u8_9x1'):
        for b in BORDERS:
            add(f'sobel_k5_dx1_dy1_{inp}_{b}', inp, op='sobel', dx=1, dy=1, ksize=5, border=b, depth='s16')
        add(f'sobel_k3_dx1_{inp}', inp, op='sobel', dx=1, dy=0, ksize=3, depth='f32')
        add(f'gaussian_k5_{inp}_u8', inp, op='gaussian', ksize=5, sigma=1.2, depth='u8')
        add(f'gaussian_k5_{inp}_u8_wrap', inp, op='gaussian', ksize=5, sigma=1.2, border='wrap', depth='u8')
        add(f'gaussian_k5_{inp}_u8_constant', inp, op='gaussian', ksize=5, sigma=1.2, border='constant', depth='u8')
        add(f'box_k5_{inp}_u8', inp, op='box', ksize=5, depth='u8')
        add(f'laplacian_k3_{inp}', inp, op='laplacian', ksize=3, depth='s16')
    add('sobel_k7_dx2_dy2_f32_1x1', 'f32_1x1', op='sobel', dx=2, dy=2, ksize=7, depth='f32')
    add('sobel_k3_dx1_f32_2x3_wrap', 'f32_2x3', op='sobel', dx=1, dy=0, ksize=3, border='wrap', depth='f32')
    add('gaussian_k5_f32_1x1_wrap', 'f32_1x1', op='gaussian', ksize=5, sigma=1.2, border='wrap', depth='f32')
    add('gaussian_k5_f32_2x3', 'f32_2x3', op='gaussian', ksize=5, sigma=1.2, depth='f32')
    # Colour: filtered per channel.
    add('sobel_k3_dx1_u8c3_s16', 'u8c3_13x11', op='sobel', dx=1, dy=0, ksize=3, depth='s16')
    add('sobel_k5_dy1_f32c3_f32', 'f32c3_13x11', op='sobel', dx=0, dy=1, ksize=5, depth='f32')
    add('gaussian_k5_u8c3_u8', 'u8c3_13x11', op='gaussian', ksize=5, sigma=1.2, depth='u8')
    add('box_k3_u8c3_u8', 'u8c3_13x11', op='box', ksize=3, depth='u8')
    add('kernel_5x5_u8c3_f32', 'u8c3_13x11', op='kernel', kernel=f32_kernel(5, 5, 5), delta=2.0, depth='f32')
    # Scale and delta: dyadic values on integer outputs (exact), arbitrary ones on float outputs.
    add('sobel_k3_dx1_scale_delta_u8_s16', 'u8_47x61', op='sobel', dx=1, dy=0, ksize=3, scale=0.5, delta=3.0, depth='s16')
    add('sobel_k3_dy1_scale_delta_u8_u8', 'u8_47x61', op='sobel', dx=0, dy=1, ksize=3, scale=0.25, delta=10.0, depth='u8')
    add('sobel_k5_dx1_scale_delta_f32_f32', 'f32_47x61', op='sobel', dx=1, dy=0, ksize=5, scale=0.1, delta=0.3, depth='f32')
    add('sobel_k3_dy1_scale_delta_u8_f64', 'u8_17x13', op='sobel', dx=0, dy=1, ksize=3, scale=0.3, delta=-1.7, depth='f64')
    add('scharr_dx1_scale_delta_u8_s16', 'u8_17x13', op='scharr', dx=1, dy=0, scale=2.0, delta=-4.0, depth='s16')
    # Non-dyadic scale into an integer depth. Where the exact result is a .5 tie (5 * 0.1 = 0.5),
    # OpenCV's answer depends on how its SIMD code happened to round float32 partial sums (and on
    # the CPU's dispatch level); the tests allow a difference of 1 at such ties only ("ties").
    add('sobel_k3_dx1_scale0.1_u8_s16', 'u8_47x61', op='sobel', dx=1, dy=0, ksize=3, scale=0.1, delta=0.0, depth='s16', ties=True)
    add('sobel_k3_dy1_scale0.3_delta0.5_u8_u8', 'u8_47x61', op='sobel', dx=0, dy=1, ksize=3, scale=0.3, delta=0.5, depth='u8', ties=True)
    # filter2D.
    add('kernel_5x5_u8_f32', 'u8_47x61', op='kernel', kernel=f32_kernel(5, 5, 1), depth='f32')
    add('kernel_5x5_f32_f32', 'f32_47x61', op='kernel', kernel=f32_kernel(5, 5, 1), depth='f32')
    add('kernel_5x5_u8_s16_delta', 'u8_17x13', op='kernel', kernel=[[float(v) for v in r] for r in np.random.default_rng(2).integers(-3, 4, (5, 5))], delta=5.0, depth='s16')
    add('kernel_3x3_u8_u8', 'u8_47x61', op='kernel', kernel=[[0.0, -1.0, 0.0], [-1.0, 5.0, -1.0], [0.0, -1.0, 0.0]], depth='u8')
    add('kernel_3x3_scale_delta_f32_f32', 'f32_7x5', op='kernel', kernel=f32_kernel(3, 3, 4), scale=0.5, delta=1.25, depth='f32')
    add('kernel_4x4_even_u8_f32', 'u8_17x13', op='kernel', kernel=f32_kernel(4, 4, 6), depth='f32')
    add('kernel_2x3_even_f32_f32', 'f32_7x5', op='kernel', kernel=f32_kernel(2, 3, 7), border='constant', depth='f32')
    add('kernel_11x11_dft_u8_f32', 'u8_47x61', op='kernel', kernel=f32_kernel(11, 11, 8), depth='f32')
    add('kernel_9x9_f64_f64', 'f64_9x11', op='kernel', kernel=f32_kernel(9, 9, 9), depth='f64')
    add('kernel_3x3_scale_f64_f64', 'f64_9x11', op='kernel', kernel=f32_kernel(3, 3, 10), scale=0.3, delta=0.1, depth='f64')
    add('kernel_12x12_dft_u8_u8', 'u8_47x61', op='kernel', kernel=f32_kernel(12, 12, 14, 1 / 20), depth='u8')
    add('kernel_8x8_dft_u8_f32_wrap', 'u8_17x13', op='kernel', kernel=f32_kernel(8, 8, 15), border='wrap', depth='f32')
    # Border wrap on every op and path: periodic targets, as scipy.ndimage mode='wrap' and FFT
    # filtering make them (colour, scale and delta, even kernels, kernels larger than the image).
    add('sobel_k3_dx1_u8_47x61_wrap', 'u8_47x61', op='sobel', dx=1, dy=0, ksize=3, border='wrap', depth='s16')
    add('sobel_k7_dx2_dy1_f32_47x61_wrap', 'f32_47x61', op='sobel', dx=2, dy=1, ksize=7, border='wrap', depth='f32')
    add('sobel_k1_dy1_f32_7x5_wrap', 'f32_7x5', op='sobel', dx=0, dy=1, ksize=1, border='wrap', depth='f32')
    add('sobel_k3_dx1_u8c3_wrap', 'u8c3_13x11', op='sobel', dx=1, dy=0, ksize=3, border='wrap', depth='s16')
    add('sobel_k3_dy1_scale_delta_u8_u8_wrap', 'u8_47x61', op='sobel', dx=0, dy=1, ksize=3, scale=0.25, delta=10.0, border='wrap', depth='u8')
    add('scharr_dx1_f32_wrap', 'f32_47x61', op='scharr', dx=1, dy=0, border='wrap', depth='f32')
    add('scharr_dy1_u8_wrap', 'u8_17x13', op='scharr', dx=0, dy=1, border='wrap', depth='s16')
    for k in (1, 3, 7):
        add(f'laplacian_k{k}_u8_47x61_wrap', 'u8_47x61', op='laplacian', ksize=k, border='wrap', depth='s16')
    add('laplacian_k5_f64_wrap', 'f64_9x11', op='laplacian', ksize=5, border='wrap', depth='f64')
    add('gaussian_k5_s1.2_f32_wrap', 'f32_47x61', op='gaussian', ksize=5, sigma=1.2, border='wrap', depth='f32')
    add('gaussian_k0_s2_u8_wrap', 'u8_47x61', op='gaussian', ksize=0, sigma=2.0, border='wrap', depth='u8')
    add('gaussian_k5_s1.2_u16_wrap', 'u16_9x11', op='gaussian', ksize=5, sigma=1.2, border='wrap', depth='u16')
    add('gaussian_k5_u8c3_wrap', 'u8c3_13x11', op='gaussian', ksize=5, sigma=1.2, border='wrap', depth='u8')
    add('box_k5_u8_47x61_wrap', 'u8_47x61', op='box', ksize=5, border='wrap', depth='u8')
    add('box_k4_even_f32_wrap', 'f32_7x5', op='box', ksize=4, border='wrap', depth='f32')
    add('kernel_5x5_f32_47x61_wrap', 'f32_47x61', op='kernel', kernel=f32_kernel(5, 5, 1), border='wrap', depth='f32')
    add('kernel_4x4_even_u8_wrap', 'u8_17x13', op='kernel', kernel=f32_kernel(4, 4, 6), border='wrap', depth='f32')
    add('kernel_3x3_u8_u8_wrap', 'u8_47x61', op='kernel', kernel=[[0.0, -1.0, 0.0], [-1.0, 5.0, -1.0], [0.0, -1.0, 0.0]], border='wrap', depth='u8')
    add('kernel_15x15_dft_f32_wrap', 'f32_47x61', op='kernel', kernel=f32_kernel(15, 15, 16, 1 / 15), border='wrap', depth='f32')
    # Laplacian.
    for k in (1, 3, 5, 7):
        add(f'laplacian_k{k}_u8_s16', 'u8_47x61', op='laplacian', ksize=k, depth='s16')
        add(f'laplacian_k{k}_f32_f32', 'f32_47x61', op='laplacian', ksize=k, depth='f32')
    add('laplacian_k5_u8_u8', 'u8_17x13', op='laplacian', ksize=5, depth='u8')
    add('laplacian_k7_u8_f32', 'u8_17x13', op='laplacian', ksize=7, depth='f32')
    add('laplacian_k3_scale_delta_u8_s16', 'u8_17x13', op='laplacian', ksize=3, scale=2.0, delta=-5.0, depth='s16')
    add('laplacian_k5_scale_delta_u8_s16', 'u8_17x13', op='laplacian', ksize=5, scale=0.5, delta=7.0, depth='s16')
    add('laplacian_k5_scale_delta_f32_f32', 'f32_7x5', op='laplacian', ksize=5, scale=0.3, delta=0.1, depth='f32')
    add('laplacian_k5_f64_f64', 'f64_9x11', op='laplacian', ksize=5, depth='f64')
    # ksize 1/3 keep their float32 kernel (scale folded in) even for f64 images: scale 0.3 shows it.
    add('laplacian_k3_scale_delta_f64_f64', 'f64_9x11', op='laplacian', ksize=3, scale=0.3, delta=0.1, depth='f64')
    add('laplacian_k7_scale_delta_f64_f64', 'f64_9x11', op='laplacian', ksize=7, scale=0.3, delta=0.1, depth='f64')
    add('laplacian_k7_scale_delta_u8_u8', 'u8_17x13', op='laplacian', ksize=7, scale=0.0625, delta=100.0, depth='u8')
    # GaussianBlur: float path, 8-bit fixed-point path, 16-bit fixed-point path.
    add('gaussian_k5_s1.2_f32', 'f32_47x61', op='gaussian', ksize=5, sigma=1.2, depth='f32')
    add('gaussian_k0_s2_f32', 'f32_47x61', op='gaussian', ksize=0, sigma=2.0, depth='f32')
    add('gaussian_k3_s0_f32', 'f32_47x61', op='gaussian', ksize=3, sigma=0.0, depth='f32')
    add('gaussian_k11_s0_f32', 'f32_47x61', op='gaussian', ksize=11, sigma=0.0, depth='f32')
    add('gaussian_k5_s1.2_u8', 'u8_47x61', op='gaussian', ksize=5, sigma=1.2, depth='u8')
    add('gaussian_k0_s2_u8', 'u8_47x61', op='gaussian', ksize=0, sigma=2.0, depth='u8')
    add('gaussian_k3_s0_u8', 'u8_47x61', op='gaussian', ksize=3, sigma=0.0, depth='u8')
    add('gaussian_k7_s0_u8', 'u8_47x61', op='gaussian', ksize=7, sigma=0.0, depth='u8')
    add('gaussian_k9_s3_u8', 'u8_47x61', op='gaussian', ksize=9, sigma=3.0, depth='u8')
    add('gaussian_k0_s0.7_u8', 'u8_47x61', op='gaussian', ksize=0, sigma=0.7, depth='u8')
    add('gaussian_k5_s1.2_u8_to_f32', 'u8_47x61', op='gaussian', ksize=5, sigma=1.2, depth='f32')
    add('gaussian_k5_s1.2_u16', 'u16_9x11', op='gaussian', ksize=5, sigma=1.2, depth='u16')
    add('gaussian_k7_s0_u16_reflect', 'u16_9x11', op='gaussian', ksize=7, sigma=0.0, border='reflect', depth='u16')
    add('gaussian_k5_s1_s16', 's16_9x11', op='gaussian', ksize=5, sigma=1.0, depth='s16')
    add('gaussian_k5_s1.5_f64', 'f64_9x11', op='gaussian', ksize=5, sigma=1.5, depth='f64')
    # boxFilter.
    add('box_k3_u8_u8', 'u8_47x61', op='box', ksize=3, depth='u8')
    add('box_k5_u8_u8', 'u8_47x61', op='box', ksize=5, depth='u8')
    add('box_k4_even_u8_u8', 'u8_47x61', op='box', ksize=4, depth='u8')
    add('box_k2_even_u8_u8', 'u8_17x13', op='box', ksize=2, depth='u8')
    add('box_k17_u8_u8', 'u8_47x61', op='box', ksize=17, depth='u8')
    add('box_k3_u8_f32', 'u8_47x61', op='box', ksize=3, depth='f32')
    add('box_k3_u8_s16', 'u8_17x13', op='box', ksize=3, depth='s16')
    add('box_k5_u8_f64', 'u8_17x13', op='box', ksize=5, depth='f64')
    add('box_k5_f32_f32', 'f32_47x61', op='box', ksize=5, depth='f32')
    add('box_k4_even_f32_f32', 'f32_7x5', op='box', ksize=4, depth='f32')
    add('box_k3_f32_u8', 'f32_7x5', op='box', ksize=3, depth='u8')
    add('box_k3_u16_u16', 'u16_9x11', op='box', ksize=3, depth='u16')
    add('box_k1_u8_u8', 'u8_7x5', op='box', ksize=1, depth='u8')
    return cases


GRID_OPS = [
    {'op': 'sobel', 'dx': 1, 'dy': 0, 'ksize': 3},
    {'op': 'scharr', 'dx': 0, 'dy': 1},
    {'op': 'laplacian', 'ksize': 1},
    {'op': 'laplacian', 'ksize': 5},
    {'op': 'laplacian', 'ksize': 7},
    {'op': 'gaussian', 'ksize': 5, 'sigma': 1.2},
    {'op': 'box', 'ksize': 3},
    {'op': 'kernel', 'kernel': f32_kernel(3, 3, 11)},
    {'op': 'kernel', 'kernel': f32_kernel(8, 8, 12)},
    {'op': 'kernel', 'kernel': f32_kernel(12, 12, 13)},
]
GRID_INPUTS = ['u8_17x13', 'u16_9x11', 's16_9x11', 'f32_7x5', 'f64_9x11', 'u8_1x1', 'f32_1x1', 'u8_1x9']


def grid():
    rows = []
    for index, base in enumerate(GRID_OPS):
        for inp in GRID_INPUTS:
            for d in CV_DEPTH:
                for b in ('reflect101', 'constant', 'wrap'):
                    spec = dict(base, depth=d, border=b)
                    try:
                        run_cv(inputs[inp], spec)
                        ok = True
                    except cv2.error:
                        ok = False
                    rows.append({'input': inp + '.npy', 'op': index, 'depth': d, 'border': b, 'accepted': ok})
    return rows


def border_table():
    table = {}
    for name, b in BORDERS.items():
        table[name] = {str(n): [int(cv2.borderInterpolate(p, n, b)) for p in range(-20, 21)] for n in range(1, 8)}
    return {'pFrom': -20, 'pTo': 20, 'modes': table}


def deriv_table():
    rows = []
    for k in (-1, 1, 3, 5, 7, 9, 31):
        for dx in range(0, 5):
            for dy in range(0, 5):
                if dx + dy == 0:
                    continue
                for norm in (False, True):
                    try:
                        kx, ky = cv2.getDerivKernels(dx, dy, k, normalize=norm, ktype=cv2.CV_64F)
                    except cv2.error:
                        rows.append({'dx': dx, 'dy': dy, 'ksize': k, 'normalize': norm, 'refused': True})
                        continue
                    rows.append({'dx': dx, 'dy': dy, 'ksize': k, 'normalize': norm,
                                 'kx': [float(v) for v in kx.ravel()], 'ky': [float(v) for v in ky.ravel()]})
    return rows


SATURATE_VALUES = [-1e10, -70000.0, -32768.5, -32767.5, -2.5, -1.5, -0.5, -0.49999997, 0.0, 0.4999999999999999,
                   0.5, 1.5, 2.5, 3.5, 127.5, 254.5, 255.5, 256.0, 32767.5, 65534.5, 65535.5, 2147483647.0,
                   2147483648.0, 1e10, float('nan'), float('inf'), float('-inf')]


def saturate_table():
    """saturate_cast<T>(double) as OpenCV does it: a 1x1 box filter of a 1x1 f64 image is exactly
    that (one value per image, because the filter's running sums would carry a NaN or an
    infinity into the next row)."""
    out = {'values': [repr(v) for v in SATURATE_VALUES]}
    for d in ('u8', 's16', 'u16', 'f32'):
        r = [cv2.boxFilter(np.array([[v]], dtype=np.float64), CV_DEPTH[d], (1, 1), normalize=True,
                           borderType=cv2.BORDER_REPLICATE)[0, 0] for v in SATURATE_VALUES]
        out[d] = [repr(float(v)) for v in r]
    return out


def gaussian_table():
    rows = []
    for n in list(range(1, 16, 2)) + [2, 4, 20, 31]:
        for sigma in (0.0, -1.0, 0.3, 0.8, 1.2, 2.0, 5.0):
            k = cv2.getGaussianKernel(n, sigma, cv2.CV_64F).ravel()
            rows.append({'n': n, 'sigma': sigma, 'values': [float(v) for v in k]})
    return rows


def compact_json(obj):
    """JSON with one list entry per line: small, yet a diff shows which case changed."""
    lines = ['{']
    items = list(obj.items())
    for i, (key, value) in enumerate(items):
        end = ',' if i < len(items) - 1 else ''
        if isinstance(value, list):
            inner = ',\n'.join('  ' + json.dumps(v, separators=(',', ':')) for v in value)
            lines.append(f'{json.dumps(key)}: [\n{inner}\n]{end}')
        else:
            lines.append(f'{json.dumps(key)}: {json.dumps(value, separators=(",", ":"))}{end}')
    lines.append('}')
    return '\n'.join(lines) + '\n'


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    make_inputs()
    manifest = {
        'opencv': cv2.__version__,
        'numpy': np.__version__,
        'note': 'made by tools/make_golden.py; spec is our FilterSpec; outputs are HWC for colour',
        'cases': [],
        'refused': [],
    }
    for name, inp, spec in case_list():
        spec = dict(spec)
        ties = spec.pop('ties', False)
        try:
            out, call = run_cv(inputs[inp], spec)
        except cv2.error as e:
            msg = str(e).strip().splitlines()[-1]
            manifest['refused'].append({'name': name, 'input': inp + '.npy', 'spec': spec, 'error': msg})
            continue
        fname = 'out_' + name + '.npy'
        np.save(os.path.join(OUT, fname), out)
        entry = {'name': name, 'input': inp + '.npy', 'output': fname, 'spec': spec, 'opencv': call}
        if ties:
            entry['ties'] = True
        manifest['cases'].append(entry)
    manifest['gridOps'] = GRID_OPS
    manifest['grid'] = grid()
    manifest['borderInterpolate'] = border_table()
    manifest['derivKernels'] = deriv_table()
    manifest['gaussianKernels'] = gaussian_table()
    manifest['saturate'] = saturate_table()
    with open(os.path.join(OUT, 'manifest.json'), 'w') as f:
        f.write(compact_json(manifest))
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print(f"{len(manifest['cases'])} cases, {len(manifest['refused'])} refused, {len(manifest['grid'])} grid rows, "
          f"{total / 1024:.0f} KiB in {os.path.relpath(OUT, ROOT)}", file=sys.stderr)


if __name__ == '__main__':
    main()
