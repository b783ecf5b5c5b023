#!/usr/bin/env python3
"""Checks kernel-learn's safetensors export against PyTorch, and writes the goldens the node tests use.

For each test/fixtures/export/model_<border>.safetensors (kernel-learn's export of model.json with that
border; test/export.test.ts checks the bytes are what exportSafetensors writes today), this script:
  - parses the file by hand (struct + json + torch.frombuffer: the `safetensors` package is not needed),
  - loads the tensors into torch.nn.Conv2d with load_state_dict(strict=True),
  - pads input.npy (float32 [1, C, H, W]) the way the metadata says, with torch.nn.functional.pad,
  - runs the conv and compares the result with torch_<border>.npy (or writes it with --write),
  - and, where python3-opencv is installed, with cv2.filter2D (the project's ground truth) summed over
    input channels, so the padding recipe in docs/export.md is checked against OpenCV itself.
test/export.test.ts then checks that kernel-learn's applyModel gives what PyTorch computed.

Run with Debian's python3 (python3-torch, python3-numpy):
    /usr/bin/python3 tools/check_safetensors_torch.py [--write] [DIR]
"""
import json
import struct
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

BORDERS = ["reflect101", "reflect", "replicate", "constant", "wrap"]


def read_safetensors(path):
    data = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    metadata = header.pop("__metadata__", {})
    body = bytearray(data[8 + n :])  # writable, so torch.frombuffer does not warn
    tensors = {}
    for name, info in header.items():
        assert info["dtype"] == "F32", info
        begin, end = info["data_offsets"]
        tensors[name] = torch.frombuffer(body[begin:end], dtype=torch.float32).reshape(info["shape"]).clone()
    return tensors, metadata


def pad(x, torch_pad, mode):
    """F.pad with kernel-learn's border; "symmetric" (OpenCV's BORDER_REFLECT) is not an F.pad mode."""
    if mode != "symmetric":
        return F.pad(x, torch_pad, mode=mode)
    left, right, top, bottom = torch_pad
    w, h = x.shape[-1], x.shape[-2]
    x = torch.cat([x[..., :left].flip(-1), x, x[..., w - right :].flip(-1)], dim=-1)
    return torch.cat([x[..., :top, :].flip(-2), x, x[..., h - bottom :, :].flip(-2)], dim=-2)


CV2_BORDER = {"reflect101": "BORDER_REFLECT_101", "reflect": "BORDER_REFLECT", "replicate": "BORDER_REPLICATE",
              "constant": "BORDER_CONSTANT", "wrap": "BORDER_WRAP"}


def opencv(path, x, border):
    """The same conv done by OpenCV in float64 (None without cv2): cv2.copyMakeBorder pads (filter2D
    itself refuses BORDER_WRAP), cv2.filter2D correlates, summed over input channels."""
    try:
        import cv2
    except ImportError:
        return None
    tensors, metadata = read_safetensors(path)
    (layer,) = json.loads(metadata["layers"])
    left, right, top, bottom = layer["torch_pad"]
    w = tensors["weight"].double().numpy()
    b = tensors["bias"].double().numpy() if "bias" in tensors else np.zeros(w.shape[0])
    img = x[0].double().numpy()
    h, wd = img.shape[1:]
    padded = [cv2.copyMakeBorder(c, top, bottom, left, right, getattr(cv2, CV2_BORDER[border]), value=0) for c in img]
    out = np.zeros((1, w.shape[0], h, wd))
    for o in range(w.shape[0]):
        for i in range(w.shape[1]):
            full = cv2.filter2D(padded[i], cv2.CV_64F, w[o, i], anchor=(left, top), borderType=cv2.BORDER_CONSTANT)
            out[0, o] += full[top : top + h, left : left + wd]
        out[0, o] += b[o]
    return out


def run(path, x):
    tensors, metadata = read_safetensors(path)
    (layer,) = json.loads(metadata["layers"])  # these fixtures are single-conv models
    weight = tensors["weight"]
    out_ch, in_ch, kh, kw = weight.shape
    conv = torch.nn.Conv2d(in_ch, out_ch, (kh, kw), bias="bias" in tensors)
    conv.load_state_dict(tensors, strict=True)
    with torch.no_grad():
        return conv(pad(x, layer["torch_pad"], metadata["torch_pad_mode"])).numpy()


def run_network(path, x):
    """Any model from its metadata alone: the recipe of docs/export.md ("Any model, every border and
    output stage"), each conv padded by its torch_pad; here the curves model (1x1 conv, relu, 1x1 conv
    around a 5x5 conv, then clamp)."""
    tensors, metadata = read_safetensors(path)
    layers, mode = json.loads(metadata["layers"]), metadata["torch_pad_mode"]
    single = sum(l["type"] == "conv2d" for l in layers) == 1
    with torch.no_grad():
        for i, l in enumerate(layers):
            if l["type"] == "conv2d":
                key = "" if single else f"{i}."
                x = F.conv2d(pad(x, l["torch_pad"], mode), tensors[key + "weight"], tensors.get(key + "bias"))
            elif l["type"] == "relu":
                x = x.relu()
            elif l["type"] == "abs":
                x = x.abs()
            elif l["type"] == "clamp":
                x = x.clamp(l["min"], l["max"])
            else:
                raise ValueError(f"layer {i}: {l['type']} is not in this check")
    return x.numpy()


def check_curves(folder, x, write):
    """The curves model (a real fit: sRGB blur in linear light on colour photographs) through PyTorch."""
    y = run_network(folder / "curves_model.safetensors", x)
    golden = folder / "torch_curves.npy"
    if write:
        np.save(golden, y.astype(np.float32))
        print(f"{golden}: {y.shape}")
        return 0.0
    ref = np.load(golden)
    rel = float(np.max(np.abs(y - ref)) / max(np.max(np.abs(ref)), 1e-30))
    print(f"curves: max relative difference to {golden.name} {rel:.3g}")
    return rel


def main(argv):
    write = "--write" in argv
    args = [a for a in argv if a != "--write"]
    folder = Path(args[0] if args else Path(__file__).resolve().parent.parent / "test/fixtures/export")
    x = torch.from_numpy(np.load(folder / "input.npy"))
    worst = 0.0
    worst_cv = 0.0
    for border in BORDERS:
        y = run(folder / f"model_{border}.safetensors", x)
        golden = folder / f"torch_{border}.npy"
        cv = opencv(folder / f"model_{border}.safetensors", x, border)
        if cv is not None:
            rel = float(np.max(np.abs(y - cv)) / np.max(np.abs(cv)))
            worst_cv = max(worst_cv, rel)
            print(f"{border}: PyTorch vs cv2.filter2D max relative difference {rel:.3g}")
        if write:
            np.save(golden, y.astype(np.float32))
            print(f"{golden}: {y.shape}")
            continue
        ref = np.load(golden)
        rel = float(np.max(np.abs(y - ref)) / max(np.max(np.abs(ref)), 1e-30))
        worst = max(worst, rel)
        print(f"{border}: max relative difference to {golden.name} {rel:.3g}")
    worst = max(worst, check_curves(folder, x, write))
    if worst_cv > 1e-5:
        sys.exit(f"PyTorch with the documented padding differs from OpenCV by {worst_cv:.3g}")
    if not write and worst > 1e-6:
        sys.exit(f"PyTorch differs from the goldens by {worst:.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
