#!/usr/bin/python3
"""Writes the numpy-made .npy fixtures that test/io.test.ts checks src/io/npy.ts against.

Run from the repository root with /usr/bin/python3 tools/make_npy_fixtures.py. The output is
committed, so the tests never need Python. manifest.json lists, for each good file, its dtype,
shape and the expected data as little-endian C-order bytes in hex (exact for NaN and -0), and
whether numpy.save wrote it (so encodeNpy must reproduce it byte for byte).
"""
import json
import os

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'npy')
os.makedirs(OUT, exist_ok=True)
manifest = {'numpy': np.__version__, 'good': {}, 'bad': {}}


def expected(a):
    c = np.ascontiguousarray(a)
    return c.astype(c.dtype.newbyteorder('<')).tobytes().hex()


def save(name, a, saved_by='save', version=None):
    """saved_by 'save': numpy.save; 'write_array': numpy.lib.format.write_array with a version."""
    path = os.path.join(OUT, name)
    if saved_by == 'save':
        np.save(path, a)
    else:
        with open(path, 'wb') as f:
            np.lib.format.write_array(f, a, version=version)
    kind = a.dtype.kind + str(a.dtype.itemsize)
    manifest['good'][name] = {
        'dtype': kind,
        'shape': list(a.shape),
        'hex': expected(a),
        # encodeNpy writes little-endian C order, version 1.0, like numpy.save.
        'numpySave': saved_by == 'save' and a.dtype.byteorder != '>' and a.flags.c_contiguous,
    }


def bad(name, content, why):
    with open(os.path.join(OUT, name), 'wb') as f:
        f.write(content)
    manifest['bad'][name] = why


def bytes_of(a, **kw):
    import io
    buf = io.BytesIO()
    np.save(buf, a, **kw)
    return buf.getvalue()


save('u1_2x3.npy', np.array([[0, 1, 2], [127, 254, 255]], dtype=np.uint8))
save('i2_3x2x3.npy', np.array([-32768, -1, 0, 1, 32767, 1234] * 3, dtype=np.int16).reshape(3, 2, 3))
save('u2_2x3.npy', np.array([[0, 1, 256], [4095, 65534, 65535]], dtype=np.uint16))
f4 = np.array([[np.nan, -0.0, 1e-45, 1.17549435e-38 / 3],
               [np.inf, -np.inf, 3.4028235e38, 1 / 3]], dtype=np.float32)
save('f4_special_2x4.npy', f4)
save('f8_2x3.npy', np.array([[np.pi, -0.0, 5e-324], [1e308, -2.5, np.nan]], dtype=np.float64))
save('f4_3x2x3.npy', np.arange(18, dtype=np.float32).reshape(3, 2, 3) * np.float32(-0.5))
save('u1_1x7.npy', np.arange(7, dtype=np.uint8).reshape(1, 7))
save('u1_7x1x4.npy', np.arange(28, dtype=np.uint8).reshape(7, 1, 4))
save('u1_1000x1.npy', (np.arange(1000) % 256).astype(np.uint8).reshape(1000, 1))
save('f4_1d.npy', np.array([1.5, -2.5, 3.25], dtype=np.float32))
save('f8_scalar.npy', np.array(2.75, dtype=np.float64))
save('f4_be_2x3.npy', np.array([[1.5, -2.25, np.nan], [-0.0, 1e-40, 65504.0]], dtype='>f4'))
save('i2_be_2x2.npy', np.array([[-2, 300], [-32768, 32767]], dtype='>i2'))
save('u2_be_2x2.npy', np.array([[1, 258], [65535, 0]], dtype='>u2'))
save('f8_be_1x2.npy', np.array([[np.e, -1e-300]], dtype='>f8'))
save('f4_fortran_3x4.npy', np.asfortranarray(np.arange(12, dtype=np.float32).reshape(3, 4) + 0.5))
save('u1_fortran_2x3x4.npy', np.asfortranarray(np.arange(24, dtype=np.uint8).reshape(2, 3, 4)))
save('f4_v2_2x3.npy', np.arange(6, dtype=np.float32).reshape(2, 3) / 7, 'write_array', (2, 0))
save('u2_v3_2x2.npy', np.array([[1, 2], [3, 65535]], dtype=np.uint16), 'write_array', (3, 0))
save('f4_4d.npy', np.zeros((1, 2, 3, 4), dtype=np.float32))

obj = bytes_of(np.array([1, 'a', None], dtype=object), allow_pickle=True)
bad('object.npy', obj, "object dtype '|O'")
bad('i8.npy', bytes_of(np.arange(6, dtype=np.int64).reshape(2, 3)), "dtype '<i8'")
bad('c8.npy', bytes_of(np.ones((2, 2), dtype=np.complex64)), "complex dtype '<c8'")
bad('b1.npy', bytes_of(np.ones((2, 2), dtype=bool)), "bool dtype '|b1'")
bad('structured.npy', bytes_of(np.zeros(2, dtype=[('a', '<f4'), ('b', '<i2')])), 'structured dtype')
good = bytes_of(np.arange(6, dtype=np.float32).reshape(2, 3))
bad('truncated.npy', good[:-3], 'data truncated')
bad('extra.npy', good + b'\0\0\0\0', 'extra bytes after the data')
bad('header_cut.npy', good[:40], 'truncated inside the header')
bad('bad_magic.npy', b'hello, this is a text file\n' * 4, 'bad magic')
bad('bad_header.npy', good.replace(b"'shape': (2, 3)", b"'shape': [2; 3]"), 'malformed header')
bad('bad_version.npy', good[:6] + b'\x09\x00' + good[8:], 'unknown version')

with open(os.path.join(OUT, 'manifest.json'), 'w') as f:
    json.dump(manifest, f, indent=1, sort_keys=True)
    f.write('\n')
print(f"wrote {len(manifest['good'])} good and {len(manifest['bad'])} bad fixtures to {os.path.normpath(OUT)}")
