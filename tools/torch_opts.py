#!/usr/bin/python3
"""PyTorch side of `kernel-learn experiment frameworks` (src/experiments/frameworks.ts): which of
PyTorch's built-in speed-ups apply to a 3x3 convolution on this machine, measured. Prints one JSON
line. Run with Debian's /usr/bin/python3 (python3-torch); the experiment skips it when absent.

  torch_opts.py SIZE CHANNEL_SIZE REPS

For (a) one channel 1x1xSIZExSIZE -> 1 (the Sobel model) and (b) 16 channels 1x16xCxC -> 16 (a
many-channel layer, where these features are meant to pay): median ms of a forward conv2d
(padding 1) and of one Adam step (forward, MSE, backward, update), for
  fp32 contiguous (NCHW), fp32 channels_last (NHWC), bf16 autocast (CPU mixed precision),
  torch.jit.trace (the graph compiler before torch.compile, which needs torch >= 2.0),
and the error bf16 costs (max |bf16 - fp32| / max |fp32|). Also reports what cannot be measured:
torch.compile (absent before 2.0), cuDNN autotuning (torch.backends.cudnn.benchmark: CUDA only).
"""
import json
import sys
import time


def median(xs):
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


def timed(f, reps):
    f()  # warm-up (allocations, oneDNN primitive creation, tracing)
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        ts.append((time.perf_counter() - t0) * 1000)
    return median(ts)


def main():
    size, csize, reps = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    import torch
    import torch.nn.functional as F
    torch.manual_seed(0)
    out = {
        'torch': torch.__version__,
        'threads': torch.get_num_threads(),
        'hasCompile': hasattr(torch, 'compile'),
        'cuda': torch.cuda.is_available(),
        'mkldnn': torch.backends.mkldnn.is_available(),
        'cases': [],
    }
    for label, c, n in (('1 channel', 1, size), ('16 channels', 16, csize)):
        x = torch.rand(1, c, n, n) * 255
        w = torch.randn(c, c, 3, 3)
        b = torch.zeros(c)
        y32 = F.conv2d(x, w, b, padding=1)
        peak = float(y32.abs().max())
        xl = x.contiguous(memory_format=torch.channels_last)
        wl = w.contiguous(memory_format=torch.channels_last)
        with torch.no_grad():
            traced = torch.jit.trace(lambda a: F.conv2d(a, w, b, padding=1), (x,))

        def fwd_bf16():
            with torch.autocast('cpu', dtype=torch.bfloat16):
                return F.conv2d(x, w, b, padding=1)

        with torch.no_grad():
            ybf = fwd_bf16().float()
            row = {
                'case': label, 'size': n, 'mpx': n * n / 1e6,
                'fp32Ms': timed(lambda: F.conv2d(x, w, b, padding=1), reps),
                'channelsLastMs': timed(lambda: F.conv2d(xl, wl, b, padding=1), reps),
                'bf16Ms': timed(fwd_bf16, reps),
                'jitMs': timed(lambda: traced(x), reps),
                'bf16RelError': float((ybf - y32).abs().max()) / peak,
                'channelsLastRelError': float((F.conv2d(xl, wl, b, padding=1) - y32).abs().max()) / peak,
            }
        # One Adam step on a target made by a fixed kernel, per variant.
        target = F.conv2d(x, torch.randn(c, c, 3, 3), None, padding=1)
        for key, mf, amp in (('adamFp32Ms', torch.contiguous_format, False), ('adamChannelsLastMs', torch.channels_last, False), ('adamBf16Ms', torch.contiguous_format, True)):
            wt = torch.zeros(c, c, 3, 3).contiguous(memory_format=mf).requires_grad_()
            xt = x.contiguous(memory_format=mf)
            tt = target.contiguous(memory_format=mf)
            opt = torch.optim.Adam([wt], lr=1e-3)

            def step():
                opt.zero_grad()
                if amp:
                    with torch.autocast('cpu', dtype=torch.bfloat16):
                        loss = F.mse_loss(F.conv2d(xt, wt, None, padding=1).float(), tt)
                else:
                    loss = F.mse_loss(F.conv2d(xt, wt, None, padding=1), tt)
                loss.backward()
                opt.step()
            row[key] = timed(step, reps)
        out['cases'].append(row)
    print(json.dumps(out))


if __name__ == '__main__':
    main()
