"""PyTorch peer for the tensorgrad bench: GEMM, conv2d and training-step timings over a
line protocol, on the CPU (the CPU kinds) or the first CUDA GPU (`tensorgrad bench cuda`).

    usage: python3 torch_bench.py <threads> [cpu|cuda]          (device default: cpu)
    stdout, first line: {"ready": true, "peer": "torch", "device": "cpu"|"cuda",
                         "cuda": torch.version.cuda, "version": ..., ...}
                        or {"ready": false, "error": "..."} when torch is missing,
                        or {"ready": false, "na": "no CUDA", "error": "..."} when the device
                        is cuda and torch.cuda.is_available() is False
    stdin, one request per line:
      gemm <transA N|T> <transB N|T> <M> <N> <K> <minTimeS> <minReps> <warmTimeS> [float32|float16|bfloat16]
      conv <fwd|fwdbwd> <N> <C> <H> <W> <OC> <KH> <KW> <stride> <pad> <dilation> <groups> <minTimeS> <minReps> <warmTimeS> [float32|float16]
      train <mlp|cnn> <batch> <minTimeS> <minReps> <warmTimeS> [amp]
    stdout, one JSON line per request: {"median_s": ..., "min_s": ..., "reps": ...} or {"error": "..."}

A transposed GEMM operand is stored transposed and passed as a .t() view, so
torch hands BLAS the transpose flag, as in a backward pass; the output is
preallocated (out=). conv "fwd" runs without autograd; "fwdbwd" runs the forward
on leaves that require grad, sums, and takes torch.autograd.grad with respect to
input, weight and bias; the dtype applies to all three. "train" times one full
training step of the models of lib/bench/train.ts (zero_grad(set_to_none=True),
forward, cross_entropy, backward, Adam step) on random inputs and labels; with
"amp" the forward and loss run under torch.autocast(float16) and the backward and
step go through a GradScaler.

On cuda every timed call ends with torch.cuda.synchronize(), since CUDA ops only
enqueue. fp32 is fp32 arithmetic: TF32 stays off for matmul (PyTorch's default)
and is turned off for cuDNN convolutions (PyTorch defaults that one to on); the
ready line reports both flags. After each request the cached device memory is
released, because tensorgrad's process shares the GPU.
"""
import json
import statistics
import sys
import time

DEVICES = ("cpu", "cuda")


class BadRequest(Exception):
    pass


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def measure(fn, min_time, min_reps, warm_time, sync=None):
    """Warm-up, then timed calls until min_time and min_reps; sync (if any) ends every call inside the clock."""
    if sync is not None:
        call = fn

        def fn():
            call()
            sync()

    t0 = time.perf_counter()
    warm = 0
    while True:
        fn()
        warm += 1
        if time.perf_counter() - t0 >= warm_time:
            break
    samples = []
    total = 0.0
    while len(samples) < 100000 and (len(samples) < min_reps or total < min_time):
        s = time.perf_counter()
        fn()
        dt = time.perf_counter() - s
        samples.append(dt)
        total += dt
    return {"median_s": statistics.median(samples), "min_s": min(samples), "reps": len(samples), "warmup": warm}


def measure_args(parts):
    """The <minTimeS> <minReps> <warmTimeS> tail every request carries."""
    return float(parts[0]), int(parts[1]), float(parts[2])


def train_model(torch, kind):
    nn = torch.nn
    if kind == "mlp":
        return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10)), (784,)
    if kind == "cnn":
        return nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10),
        ), (1, 28, 28)
    raise ValueError(f"unknown model '{kind}'")


def grad_scaler(torch, device):
    # torch.amp.GradScaler(device) is the spelling since 2.3; torch.cuda.amp.GradScaler,
    # the same scaler, warns that it is deprecated from 2.4 on
    if hasattr(torch, "amp") and hasattr(torch.amp, "GradScaler"):
        return torch.amp.GradScaler(device)
    return torch.cuda.amp.GradScaler()


class Peer:
    """torch on one device: builds each request's operands there and times it."""

    def __init__(self, torch, device):
        import torch.nn.functional as F

        self.torch = torch
        self.F = F
        self.device = device
        self.sync = torch.cuda.synchronize if device == "cuda" else None

    def gemm(self, parts):
        if len(parts) not in (8, 9):
            raise BadRequest()
        torch, dev = self.torch, self.device
        ta, tb = parts[0], parts[1]
        m, n, k = (int(v) for v in parts[2:5])
        timing = measure_args(parts[5:8])
        dt = getattr(torch, parts[8] if len(parts) == 9 else "float32")
        a = (torch.randn(k, m, device=dev).t() if ta == "T" else torch.randn(m, k, device=dev)).to(dt)
        b = (torch.randn(n, k, device=dev).t() if tb == "T" else torch.randn(k, n, device=dev)).to(dt)
        c = torch.empty(m, n, dtype=dt, device=dev)
        with torch.no_grad():
            return measure(lambda: torch.mm(a, b, out=c), *timing, sync=self.sync)

    def conv(self, parts):
        if len(parts) not in (15, 16):
            raise BadRequest()
        torch, F, dev = self.torch, self.F, self.device
        mode = parts[0]
        nb, ci, h, w, oc, kh, kw, stride, pad, dil, groups = (int(v) for v in parts[1:12])
        timing = measure_args(parts[12:15])
        dt = getattr(torch, parts[15] if len(parts) == 16 else "float32")
        grad = mode == "fwdbwd"
        x = torch.randn(nb, ci, h, w, device=dev, dtype=dt, requires_grad=grad)
        wt = torch.randn(oc, ci // groups, kh, kw, device=dev, dtype=dt, requires_grad=grad)
        bias = torch.randn(oc, device=dev, dtype=dt, requires_grad=grad)

        def fwd():
            with torch.no_grad():
                F.conv2d(x, wt, bias, stride=stride, padding=pad, dilation=dil, groups=groups)

        def fwdbwd():
            y = F.conv2d(x, wt, bias, stride=stride, padding=pad, dilation=dil, groups=groups)
            torch.autograd.grad(y.sum(), [x, wt, bias])

        return measure(fwdbwd if grad else fwd, *timing, sync=self.sync)

    def train(self, parts):
        if len(parts) not in (5, 6) or (len(parts) == 6 and parts[5] != "amp"):
            raise BadRequest()
        torch, F, dev = self.torch, self.F, self.device
        model, sample = train_model(torch, parts[0])
        model.to(dev)
        batch = int(parts[1])
        timing = measure_args(parts[2:5])
        x = torch.randn(batch, *sample, device=dev)
        y = torch.randint(0, 10, (batch,), device=dev)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)

        def step():
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), y).backward()
            opt.step()

        scaler = grad_scaler(torch, dev) if len(parts) == 6 else None

        def amp_step():
            opt.zero_grad(set_to_none=True)
            with torch.autocast(dev, dtype=torch.float16):
                loss = F.cross_entropy(model(x), y)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()

        return measure(step if scaler is None else amp_step, *timing, sync=self.sync)

    def release(self):
        """Hands cached device memory back: tensorgrad, timed next, needs room on the same GPU."""
        if self.device == "cuda":
            self.torch.cuda.empty_cache()


def cpu_info(torch):
    config = torch.__config__.show()
    capability = next((l.split(":", 1)[1].strip() for l in config.splitlines() if "CPU capability usage" in l), None)
    blas = next((p.split("=", 1)[1] for p in config.replace(",", " ").split() if p.startswith("BLAS_INFO=")), None)
    return {"capability": capability, "blas": blas, "mkldnn": bool(torch.backends.mkldnn.is_available())}


def cuda_info(torch):
    # fp32 rows compare fp32 arithmetic: no TF32 tensor-core shortcuts on either path
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    return {
        "deviceName": torch.cuda.get_device_name(0),
        "tf32Matmul": bool(torch.backends.cuda.matmul.allow_tf32),
        "cudnnTf32": bool(torch.backends.cudnn.allow_tf32),
        "cudnn": torch.backends.cudnn.version(),
        "cudnnBenchmark": bool(torch.backends.cudnn.benchmark),
    }


def no_cuda_reason(torch):
    if torch.version.cuda is None:
        return f"PyTorch {torch.__version__} is a CPU-only build (torch.version.cuda is None)"
    return f"PyTorch {torch.__version__} (CUDA {torch.version.cuda}): torch.cuda.is_available() is False (no driver or no visible GPU)"


def main():
    args = sys.argv[1:]
    if not args or not args[0].isdigit() or int(args[0]) < 1 or len(args) > 2 or (len(args) == 2 and args[1] not in DEVICES):
        sys.stderr.write("usage: torch_bench.py <threads> [cpu|cuda]\n")
        return 2
    threads = int(args[0])
    device = args[1] if len(args) == 2 else "cpu"
    try:
        import torch
    except Exception as e:  # ImportError, or a broken install
        reply({"ready": False, "error": f"{type(e).__name__}: {e}".splitlines()[0]})
        return 0
    if device == "cuda" and not torch.cuda.is_available():
        reply({"ready": False, "na": "no CUDA", "error": no_cuda_reason(torch)})
        return 0
    torch.set_num_threads(threads)
    reply({
        "ready": True, "peer": "torch", "threads": threads, "libThreads": torch.get_num_threads(),
        "version": f"PyTorch {torch.__version__}", "device": device, "cuda": torch.version.cuda,
        **(cuda_info(torch) if device == "cuda" else cpu_info(torch)),
    })
    torch.manual_seed(0)
    peer = Peer(torch, device)
    handlers = {"gemm": peer.gemm, "conv": peer.conv, "train": peer.train}
    for line in sys.stdin:
        parts = line.split()
        if not parts or parts[0] == "quit":
            break
        try:
            handler = handlers.get(parts[0])
            if handler is None:
                raise BadRequest()
            reply(handler(parts[1:]))
        except BadRequest:
            reply({"error": "bad request"})
        except Exception as e:
            reply({"error": f"{type(e).__name__}: {e}".splitlines()[0]})
        finally:
            peer.release()
    return 0


if __name__ == "__main__":
    sys.exit(main())
