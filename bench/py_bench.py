#!/usr/bin/python3
"""Python side of `npm run bench`: OpenCV and PyTorch timings, printed as one JSON line.

Run by bench/bench.ts with Debian's /usr/bin/python3 (python3-opencv, python3-torch); each
subcommand imports only what it needs, so a missing package fails only its own measurement.

  caps                                   which of cv2 / torch import
  filter2d   IN.npy KERNEL_JSON RUNS      cv2.filter2D in process, BORDER_REFLECT_101, median ms with a
                                          fresh output each call (ms) and into a reused dst (msDst)
  apply      IN.npy OUT.npy KERNEL_JSON   the whole-process baseline: np.load + cv2.filter2D + np.save
  torch_conv IN.npy KERNEL_JSON RUNS THREADS   F.pad(reflect) + F.conv2d in process, median ms
  torch_adam BATCH SIZE RUNS THREADS [MKLDNN]   one Adam step (3x3 conv, MSE) on a BATCHx1xSIZExSIZE batch,
                                          median ms; parts: medians of zero_grad + forward + loss, backward,
                                          opt.step. THREADS: torch.set_num_threads; MKLDNN 1 (default) or 0:
                                          torch.backends.mkldnn.enabled (oneDNN's conv, or ATen's im2col + BLAS
                                          one, which is faster for one channel on some machines)
  torch_train INPUT_DIR TARGET_DIR THREADS CAP_S   Adam on whole images until the 3x3 kernel is
                                          within 1e-4 of Sobel dx (or CAP_S seconds): seconds, steps
  torch_stage STAGE INPUT_DIR TARGET_DIR THREADS CAP_S GOAL   the nonlinear output stages as a
                                          PyTorch user trains them: the network kernel-learn builds
                                          (conv 3x3 then clamp / abs / magnitude; conv 5x5 with a
                                          32-unit curve after it (curve-after) or before and after it
                                          (curves), a curve being 1x1 conv, relu, 1x1 conv), default
                                          init (seed 0), Adam (lr 1e-2, halved on plateaus) on whole
                                          images' valid pixels until the training MSE is <= GOAL or
                                          CAP_S seconds (from the start, file reading included):
                                          seconds, steps, MSE, reached
  gram_np    DIR KSIZES RUNS              the normal equations of a kxk kernel + bias on the pairs
                                          DIR/in*.npy, DIR/tg*.npy (float32), as a numpy user forms
                                          them: unfolded windows (sliding_window_view) with a column
                                          of ones, X^T X by one matmul, X^T y, y^T y; then
                                          np.linalg.solve and scipy's cho_factor/cho_solve. Median
                                          ms per KSIZE (comma-separated); the BLAS library, its
                                          kernel (core) and thread count; X^T X, X^T y of the largest
                                          size to DIR/np-xtx.npy, DIR/np-xty.npy. Threads: set
                                          OPENBLAS_NUM_THREADS before the call.
  conv_algos IN.npy DIR KSIZES RUNS     one convolution (float32, BORDER_REFLECT_101, 1 thread each) by the
                                          algorithms frameworks choose between, on the image IN.npy padded once by
                                          reflect101 (not timed; cv2.filter2D pads
                                          itself, as it is used): im2col + BLAS (numpy: the k*k shifted views
                                          copied into a patch matrix, a band of rows at a time, times the kernel),
                                          FFT (scipy.signal.fftconvolve, float32), overlap-add FFT (scipy.signal.
                                          oaconvolve), torch conv2d with oneDNN and without it (ATen's im2col +
                                          sgemm), cv2.filter2D (direct below a kernel area of 130, its DFT
                                          from it, for float32 on SSE3 machines: 13x13); the kernels are
                                          DIR/kernel-K.npy. Median ms per
                                          kernel size; each output's max |error| / max |exact| against a float64
                                          FFT convolution, and our output's (DIR/ours-K.npy, written by the caller)
  torch_train_tuned INPUT_DIR TARGET_DIR THREADS CAP_S LRS   the Adam loop as a PyTorch user tunes it:
                                          inputs and targets standardised (mean 0, std 1), full batch, Adam at
                                          each learning rate of LRS (comma-separated) with ReduceLROnPlateau, until
                                          the kernel (mapped back to pixel units) is within 1e-4 of Sobel dx or
                                          CAP_S seconds of the loop (or the time of the fastest rate that has
                                          converged so far); per rate seconds, steps, max error
  lstsq      INPUT_DIR TARGET_DIR RUNS    least squares on unfolded 3x3 patches (+ a column of ones), as a
                                          numpy / PyTorch user writes it: np.linalg.lstsq (float64, LAPACK gelsd),
                                          the normal equations (A^T A by one matmul, np.linalg.solve), and
                                          torch.linalg.lstsq (float32 and float64, its default gelsy); median ms
                                          (the patch matrix's construction timed apart) and each kernel's max
                                          error against Sobel dx
"""
import json
import sys
import time


def median(xs):
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


def main():
    cmd = sys.argv[1]
    if cmd == 'caps':
        out = {}
        try:
            import cv2
            out['cv2'] = cv2.__version__
        except Exception:
            out['cv2'] = None
        try:
            import torch
            out['torch'] = torch.__version__
        except Exception:
            out['torch'] = None
        print(json.dumps(out))
        return
    import numpy as np
    if cmd == 'filter2d':
        import cv2
        src = np.load(sys.argv[2])
        k = np.array(json.loads(sys.argv[3]), dtype=np.float32)
        runs = int(sys.argv[4])
        times = []
        dst = None
        for _ in range(runs):
            t = time.perf_counter()
            dst = cv2.filter2D(src, -1, k, borderType=cv2.BORDER_REFLECT_101)
            times.append((time.perf_counter() - t) * 1000)
        times_dst = []
        for i in range(runs + 2):
            t = time.perf_counter()
            cv2.filter2D(src, -1, k, dst=dst, borderType=cv2.BORDER_REFLECT_101)
            if i >= 2:
                times_dst.append((time.perf_counter() - t) * 1000)
        print(json.dumps({'ms': median(times), 'times': times, 'msDst': median(times_dst), 'timesDst': times_dst,
                          'threads': cv2.getNumThreads(), 'sum': float(dst.astype(np.float64).sum())}))
    elif cmd == 'apply':
        import cv2
        src = np.load(sys.argv[2])
        k = np.array(json.loads(sys.argv[4]), dtype=np.float32)
        np.save(sys.argv[3], cv2.filter2D(src, -1, k, borderType=cv2.BORDER_REFLECT_101))
    elif cmd == 'torch_conv':
        import torch
        import torch.nn.functional as F
        torch.set_num_threads(int(sys.argv[5]))
        src = torch.from_numpy(np.load(sys.argv[2]))[None, None]
        k = torch.tensor(json.loads(sys.argv[3]), dtype=torch.float32)[None, None]
        runs = int(sys.argv[4])
        times = []
        with torch.no_grad():
            for _ in range(runs):
                t = time.perf_counter()
                F.conv2d(F.pad(src, (1, 1, 1, 1), mode='reflect'), k)
                times.append((time.perf_counter() - t) * 1000)
        print(json.dumps({'ms': median(times), 'times': times}))
    elif cmd == 'torch_adam':
        import torch
        import torch.nn.functional as F
        batch, size, runs, threads = (int(a) for a in sys.argv[2:6])
        torch.set_num_threads(threads)
        torch.backends.mkldnn.enabled = len(sys.argv) < 7 or sys.argv[6] != '0'
        g = torch.Generator().manual_seed(0)
        x = torch.rand(batch, 1, size, size, generator=g) * 255
        y = torch.rand(batch, 1, size - 2, size - 2, generator=g) * 255
        w = torch.zeros(1, 1, 3, 3, requires_grad=True)
        b = torch.zeros(1, requires_grad=True)
        opt = torch.optim.Adam([w, b], lr=1e-3)
        times, fwd, bwd, upd = [], [], [], []
        for _ in range(runs):
            t = time.perf_counter()
            opt.zero_grad(set_to_none=True)  # no memset of the old gradients
            loss = F.mse_loss(F.conv2d(x, w, b), y)
            t1 = time.perf_counter()
            loss.backward()
            t2 = time.perf_counter()
            opt.step()
            t3 = time.perf_counter()
            times.append((t3 - t) * 1000)
            fwd.append((t1 - t) * 1000)
            bwd.append((t2 - t1) * 1000)
            upd.append((t3 - t2) * 1000)
        k = min(5, len(times) - 1)  # warm-up: the first step allocates Adam's state, the next few warm caches
        print(json.dumps({'ms': median(times[k:]), 'times': times, 'parts': {'forward': median(fwd[k:]), 'backward': median(bwd[k:]), 'step': median(upd[k:])}}))
    elif cmd == 'torch_train':
        import os
        import cv2
        import torch
        import torch.nn.functional as F
        t0 = time.perf_counter()
        torch.set_num_threads(int(sys.argv[4]))
        cap = float(sys.argv[5])
        xs, ys = [], []
        for name in sorted(os.listdir(sys.argv[2])):
            stem = os.path.splitext(name)[0]
            xs.append(torch.from_numpy(cv2.imread(os.path.join(sys.argv[2], name), cv2.IMREAD_UNCHANGED).astype(np.float32))[None, None])
            ys.append(torch.from_numpy(np.load(os.path.join(sys.argv[3], stem + '.npy')).astype(np.float32))[None, None])
        x = torch.cat(xs)
        y = torch.cat(ys)[:, :, 1:-1, 1:-1]  # 'valid' region: no border pixels
        truth = torch.tensor([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=torch.float32)
        w = torch.zeros(1, 1, 3, 3, requires_grad=True)
        b = torch.zeros(1, requires_grad=True)
        lr = 0.05
        opt = torch.optim.Adam([w, b], lr=lr)
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=10, min_lr=1e-7)
        steps = 0
        err = float('inf')
        while True:
            opt.zero_grad(set_to_none=True)  # no memset of the old gradients
            loss = F.mse_loss(F.conv2d(x, w, b), y)
            loss.backward()
            opt.step()
            sched.step(loss.item())
            steps += 1
            err = float((w.detach()[0, 0] - truth).abs().max())
            if err < 1e-4 or time.perf_counter() - t0 > cap:
                break
        print(json.dumps({'s': time.perf_counter() - t0, 'steps': steps, 'maxErr': err, 'converged': err < 1e-4}))
    elif cmd == 'torch_stage':
        torch_stage(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), float(sys.argv[6]), float(sys.argv[7]))
    elif cmd == 'conv_algos':
        conv_algos(sys.argv[2], sys.argv[3], [int(k) for k in sys.argv[4].split(',')], int(sys.argv[5]))
    elif cmd == 'torch_train_tuned':
        torch_train_tuned(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), [float(v) for v in sys.argv[6].split(',')])
    elif cmd == 'lstsq':
        lstsq(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif cmd == 'gram_np':
        gram_np(sys.argv[2], [int(k) for k in sys.argv[3].split(',')], int(sys.argv[4]))
    else:
        raise SystemExit('unknown command ' + cmd)


def torch_stage(stage, in_dir, target_dir, threads, cap, goal):
    """See the header: Adam on the stage's own network until the training MSE reaches goal."""
    import os
    import cv2
    import numpy as np
    import torch
    import torch.nn.functional as F
    t0 = time.perf_counter()
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    xs, ys = [], []
    for name in sorted(os.listdir(in_dir)):
        stem = os.path.splitext(name)[0]
        xs.append(cv2.imread(os.path.join(in_dir, name), cv2.IMREAD_UNCHANGED).astype(np.float32))
        t = [f for f in os.listdir(target_dir) if os.path.splitext(f)[0] == stem][0]
        tp = os.path.join(target_dir, t)
        ys.append((np.load(tp) if t.endswith('.npy') else cv2.imread(tp, cv2.IMREAD_UNCHANGED)).astype(np.float32))
    k = 5 if stage.startswith('curve') else 3
    r = k // 2
    x = torch.from_numpy(np.stack(xs))[:, None]
    y = torch.from_numpy(np.stack(ys))[:, None, r:-r, r:-r]  # the valid pixels
    curve = lambda: torch.nn.Sequential(torch.nn.Conv2d(1, 32, 1), torch.nn.ReLU(), torch.nn.Conv2d(32, 1, 1))
    conv = torch.nn.Conv2d(1, 2 if stage == 'magnitude' else 1, k)
    before = curve() if stage == 'curves' else torch.nn.Identity()
    after = curve() if stage.startswith('curve') else torch.nn.Identity()
    net = torch.nn.ModuleList([before, conv, after])

    def forward():
        v = after(conv(before(x)))
        if stage == 'clamp':
            return v.clamp(0, 255)
        if stage == 'abs':
            return v.abs().clamp(0, 255)
        if stage == 'magnitude':
            return torch.sqrt(v[:, :1] ** 2 + v[:, 1:] ** 2 + 1e-12)
        return v

    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=20, min_lr=1e-7)
    steps, mse = 0, float('inf')
    while True:
        opt.zero_grad()
        loss = F.mse_loss(forward(), y)
        loss.backward()
        opt.step()
        mse = loss.item()
        sched.step(mse)
        steps += 1
        if mse <= goal or time.perf_counter() - t0 > cap:
            break
    print(json.dumps({'s': time.perf_counter() - t0, 'steps': steps, 'mse': mse, 'reached': mse <= goal}))


def blas_info():
    """The BLAS library numpy loaded (from /proc/self/maps), and OpenBLAS' kernel and threads if it is OpenBLAS."""
    import ctypes
    path = None
    with open('/proc/self/maps') as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 6 and fields[-1].rsplit('/', 1)[-1].startswith(('libblas.so', 'libopenblas')):
                path = fields[-1]
                break
    out = {'library': path, 'core': None, 'threads': None}
    if path:
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            out['core'] = lib.openblas_get_corename().decode()
            out['threads'] = lib.openblas_get_num_threads()
            lib.openblas_get_config.restype = ctypes.c_char_p
            out['config'] = lib.openblas_get_config().decode()
        except Exception:
            pass
    return out


def gram_np(folder, ksizes, runs):
    import glob
    import os
    import numpy as np
    from numpy.lib.stride_tricks import sliding_window_view
    try:
        import scipy.linalg as sl
    except Exception:
        sl = None
    ins = sorted(glob.glob(os.path.join(folder, 'in*.npy')))
    pairs = [(np.load(f).astype(np.float64), np.load(f.replace(os.sep + 'in', os.sep + 'tg')).astype(np.float64)) for f in ins]
    res = {}
    for k in ksizes:
        p = k * k + 1
        times, solve_t, cho_t = [], [], []
        for _ in range(runs):
            t = time.perf_counter()
            xtx = np.zeros((p, p))
            xty = np.zeros(p)
            yty = 0.0
            n = 0
            for x, y in pairs:
                h, w = x.shape
                hv, wv = h - k + 1, w - k + 1
                a = np.empty((hv * wv, p))
                a[:, :k * k] = sliding_window_view(x, (k, k)).reshape(-1, k * k)
                a[:, -1] = 1.0
                t_ = y[k // 2:k // 2 + hv, k // 2:k // 2 + wv].reshape(-1)
                xtx += a.T @ a
                xty += a.T @ t_
                yty += t_ @ t_
                n += hv * wv
                del a
            times.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            w_ = np.linalg.solve(xtx, xty)
            solve_t.append((time.perf_counter() - t) * 1000)
            if sl is not None:
                t = time.perf_counter()
                sl.cho_solve(sl.cho_factor(xtx), xty)
                cho_t.append((time.perf_counter() - t) * 1000)
        res[str(k)] = {'ms': median(times), 'times': times, 'solveMs': median(solve_t), 'choMs': median(cho_t) if cho_t else None, 'n': n}
        if k == max(ksizes):
            np.save(os.path.join(folder, 'np-xtx.npy'), xtx)
            np.save(os.path.join(folder, 'np-xty.npy'), xty)
    print(json.dumps({'numpy': np.__version__, 'blas': blas_info(), 'results': res}))


def timed(fn, runs, warm=1, slow_ms=3000):
    """Median ms of runs calls after warm untimed ones, and the last result. A warm-up call over
    slow_ms is the only one timed (ATen's im2col at 31x31 takes tens of seconds, where warming
    caches does not matter)."""
    out = None
    for _ in range(warm):
        t = time.perf_counter()
        out = fn()
        ms = (time.perf_counter() - t) * 1000
        if ms > slow_ms:
            return ms, [ms], out
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t) * 1000)
    return median(times), times, out


def im2col_conv(xp, k, kern):
    """Correlation of the padded image xp with kern as im2col + GEMM: per band of output rows, the
    k*k shifted views copied into a (pixels x k*k) patch matrix, times the kernel as a column.
    Bands keep the patch matrix near 64 MB (the whole one is 16 GB at 31x31 on 2048^2)."""
    import numpy as np
    from numpy.lib.stride_tricks import sliding_window_view
    oh, ow = xp.shape[0] - k + 1, xp.shape[1] - k + 1
    out = np.empty((oh, ow), np.float32)
    band = max(1, (64 << 20) // (ow * k * k * 4))
    col = kern.reshape(-1)
    for y in range(0, oh, band):
        y1 = min(oh, y + band)
        patches = np.ascontiguousarray(sliding_window_view(xp[y:y1 + k - 1], (k, k))).reshape(-1, k * k)
        out[y:y1] = (patches @ col).reshape(y1 - y, ow)
    return out


def conv_algos(in_npy, folder, ksizes, runs):
    import os
    import cv2
    import numpy as np
    import scipy
    import scipy.signal as ss
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    x = np.load(in_npy).astype(np.float32)
    res = {}
    for k in ksizes:
        kern = np.load(os.path.join(folder, 'kernel-%d.npy' % k)).astype(np.float32)
        r = k // 2
        xp = cv2.copyMakeBorder(x, r, r, r, r, cv2.BORDER_REFLECT_101)
        exact = ss.fftconvolve(xp.astype(np.float64), kern[::-1, ::-1].astype(np.float64), mode='valid')
        peak = float(np.abs(exact).max())
        xt = torch.from_numpy(xp)[None, None]
        kt = torch.from_numpy(kern)[None, None]

        def torch_conv(mkldnn):
            def run():
                torch.backends.mkldnn.enabled = mkldnn
                with torch.no_grad():
                    return F.conv2d(xt, kt)[0, 0].numpy()
            return run
        methods = {
            'im2col + GEMM (numpy, OpenBLAS)': lambda: im2col_conv(xp, k, kern),
            'FFT (scipy.signal.fftconvolve)': lambda: ss.fftconvolve(xp, kern[::-1, ::-1], mode='valid'),
            'FFT overlap-add (scipy.signal.oaconvolve)': lambda: ss.oaconvolve(xp, kern[::-1, ::-1], mode='valid'),
            'torch conv2d, oneDNN': torch_conv(True),
            'torch conv2d, ATen im2col + GEMM': torch_conv(False),
            'cv2.filter2D (direct below 13x13, DFT from it)': lambda: cv2.filter2D(x, -1, kern, borderType=cv2.BORDER_REFLECT_101),
        }
        row = {}
        for name, fn in methods.items():
            ms, times, out = timed(fn, runs)
            row[name] = {'ms': ms, 'times': times, 'relErr': float(np.abs(out.astype(np.float64) - exact).max()) / peak}
        ours = os.path.join(folder, 'ours-%d.npy' % k)
        if os.path.exists(ours):
            row['ours relErr'] = float(np.abs(np.load(ours).astype(np.float64) - exact).max()) / peak
        res[str(k)] = row
    print(json.dumps({'numpy': np.__version__, 'scipy': scipy.__version__, 'torch': torch.__version__, 'opencv': cv2.__version__,
                      'blas': blas_info(), 'threads': {'torch': torch.get_num_threads(), 'cv2': cv2.getNumThreads()}, 'results': res}))


def read_pairs(in_dir, target_dir):
    """The input images (8-bit files) and their .npy targets, by stem, as float32 arrays."""
    import os
    import cv2
    import numpy as np
    xs, ys = [], []
    for name in sorted(os.listdir(in_dir)):
        stem = os.path.splitext(name)[0]
        xs.append(cv2.imread(os.path.join(in_dir, name), cv2.IMREAD_UNCHANGED).astype(np.float32))
        ys.append(np.load(os.path.join(target_dir, stem + '.npy')).astype(np.float32))
    return xs, ys


SOBEL_DX = [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]


def torch_train_tuned(in_dir, target_dir, threads, cap, lrs):
    import numpy as np
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(threads)
    xs, ys = read_pairs(in_dir, target_dir)
    x = torch.from_numpy(np.stack(xs))[:, None]
    y = torch.from_numpy(np.stack(ys))[:, None, 1:-1, 1:-1]  # the valid pixels
    # Standardised, as a PyTorch user feeds a network: y ~ w.x + b becomes y' ~ w'.x' + b' with
    # w = w' * sy / sx, so the error is judged on the kernel in pixel units.
    mx, sx, my, sy = float(x.mean()), float(x.std()), float(y.mean()), float(y.std())
    xn, yn = (x - mx) / sx, (y - my) / sy
    truth = torch.tensor(SOBEL_DX, dtype=torch.float32)
    out = []
    for lr in lrs:
        # A rate still short of 1e-4 when a faster one had converged cannot be the fastest: stop it there.
        best = min([r['s'] for r in out if r['converged']] + [cap])
        torch.manual_seed(0)
        w = torch.zeros(1, 1, 3, 3, requires_grad=True)
        b = torch.zeros(1, requires_grad=True)
        opt = torch.optim.Adam([w, b], lr=lr)
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=10, min_lr=1e-7)
        steps, err, t0 = 0, float('inf'), time.perf_counter()
        while True:
            opt.zero_grad(set_to_none=True)
            loss = F.mse_loss(F.conv2d(xn, w, b), yn)
            loss.backward()
            opt.step()
            sched.step(loss.item())
            steps += 1
            err = float((w.detach()[0, 0] * (sy / sx) - truth).abs().max())
            if err < 1e-4 or time.perf_counter() - t0 > best:
                break
        out.append({'lr': lr, 's': time.perf_counter() - t0, 'steps': steps, 'maxErr': err, 'converged': err < 1e-4})
    print(json.dumps({'threads': threads, 'pixels': int(y.numel()), 'runs': out}))


def lstsq(in_dir, target_dir, runs):
    import numpy as np
    import torch
    from numpy.lib.stride_tricks import sliding_window_view
    torch.set_num_threads(1)
    xs, ys = read_pairs(in_dir, target_dir)
    truth = np.array(SOBEL_DX, np.float64)

    def patches():
        a = np.concatenate([np.ascontiguousarray(sliding_window_view(x, (3, 3))).reshape(-1, 9) for x in xs])
        t = np.concatenate([y[1:-1, 1:-1].reshape(-1) for y in ys])
        return np.concatenate([a, np.ones((a.shape[0], 1), np.float32)], axis=1), t
    build_ms, _, (a32, t32) = timed(patches, runs)
    a64, t64 = a32.astype(np.float64), t32.astype(np.float64)
    at32, tt32 = torch.from_numpy(a32), torch.from_numpy(t32)[:, None]
    at64, tt64 = torch.from_numpy(a64), torch.from_numpy(t64)[:, None]
    methods = {
        'np.linalg.lstsq (float64, gelsd)': lambda: np.linalg.lstsq(a64, t64, rcond=None)[0],
        'normal equations: A^T A by one matmul + np.linalg.solve (float64)': lambda: np.linalg.solve(a64.T @ a64, a64.T @ t64),
        'torch.linalg.lstsq (float32, gelsy)': lambda: torch.linalg.lstsq(at32, tt32).solution[:, 0].numpy(),
        'torch.linalg.lstsq (float64, gelsy)': lambda: torch.linalg.lstsq(at64, tt64).solution[:, 0].numpy(),
    }
    res = {}
    for name, fn in methods.items():
        ms, times, coef = timed(fn, runs)
        res[name] = {'ms': ms, 'times': times, 'maxErr': float(np.abs(np.asarray(coef, np.float64)[:9].reshape(3, 3) - truth).max())}
    print(json.dumps({'rows': int(a32.shape[0]), 'buildMs': build_ms, 'blas': blas_info(), 'results': res}))


if __name__ == '__main__':
    main()
