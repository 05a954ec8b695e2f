"""PyTorch peer for the tensorgrad bench: GEMM and conv2d timings over a line protocol.

    usage: python3 torch_bench.py <threads>
    stdout, first line: {"ready": true, "peer": "torch", "version": ..., ...}
                        or {"ready": false, "error": "..."} when torch is missing
    stdin, one request per line:
      gemm <transA N|T> <transB N|T> <M> <N> <K> <minTimeS> <minReps> <warmTimeS> [float32|float16|bfloat16]
      conv <fwd|fwdbwd> <N> <C> <H> <W> <OC> <KH> <KW> <stride> <pad> <dilation> <groups> <minTimeS> <minReps> <warmTimeS>
      train <mlp|cnn> <batch> <minTimeS> <minReps> <warmTimeS>
    stdout, one JSON line per request: {"median_s": ..., "min_s": ..., "reps": ...} or {"error": "..."}

A transposed GEMM operand is stored transposed and passed as a .t() view, so
torch hands BLAS the transpose flag, as in a backward pass; the output is
preallocated (out=). conv "fwd" runs without autograd; "fwdbwd" runs the forward
on leaves that require grad, sums, and takes torch.autograd.grad with respect to
input, weight and bias. "train" times one full training step of the models of
lib/bench/train.ts (zero_grad(set_to_none=True), forward, cross_entropy,
backward, Adam step) on random inputs and labels.
"""
import json
import statistics
import sys
import time


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def measure(fn, min_time, min_reps, warm_time):
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


def main():
    if len(sys.argv) < 2 or int(sys.argv[1]) < 1:
        sys.stderr.write("usage: torch_bench.py <threads>\n")
        return 2
    threads = int(sys.argv[1])
    try:
        import torch
        import torch.nn.functional as F
    except Exception as e:  # ImportError, or a broken install
        reply({"ready": False, "error": f"{type(e).__name__}: {e}".splitlines()[0]})
        return 0
    torch.set_num_threads(threads)
    config = torch.__config__.show()
    capability = next((l.split(":", 1)[1].strip() for l in config.splitlines() if "CPU capability usage" in l), None)
    blas = next((p.split("=", 1)[1] for p in config.replace(",", " ").split() if p.startswith("BLAS_INFO=")), None)
    reply({
        "ready": True, "peer": "torch", "threads": threads, "libThreads": torch.get_num_threads(),
        "version": f"PyTorch {torch.__version__}", "capability": capability, "blas": blas,
        "mkldnn": bool(torch.backends.mkldnn.is_available()),
    })
    torch.manual_seed(0)
    for line in sys.stdin:
        parts = line.split()
        if not parts or parts[0] == "quit":
            break
        try:
            if parts[0] == "gemm" and len(parts) in (9, 10):
                ta, tb = parts[1], parts[2]
                m, n, k = (int(v) for v in parts[3:6])
                min_time, min_reps, warm = float(parts[6]), int(parts[7]), float(parts[8])
                dt = getattr(torch, parts[9] if len(parts) == 10 else "float32")
                a = (torch.randn(k, m).t() if ta == "T" else torch.randn(m, k)).to(dt)
                b = (torch.randn(n, k).t() if tb == "T" else torch.randn(k, n)).to(dt)
                c = torch.empty(m, n, dtype=dt)
                with torch.no_grad():
                    reply(measure(lambda: torch.mm(a, b, out=c), min_time, min_reps, warm))
            elif parts[0] == "conv" and len(parts) == 16:
                mode = parts[1]
                nb, ci, h, w, oc, kh, kw, stride, pad, dil, groups = (int(v) for v in parts[2:13])
                min_time, min_reps, warm = float(parts[13]), int(parts[14]), float(parts[15])
                grad = mode == "fwdbwd"
                x = torch.randn(nb, ci, h, w, requires_grad=grad)
                wt = torch.randn(oc, ci // groups, kh, kw, requires_grad=grad)
                bias = torch.randn(oc, requires_grad=grad)

                def fwd():
                    with torch.no_grad():
                        F.conv2d(x, wt, bias, stride=stride, padding=pad, dilation=dil, groups=groups)

                def fwdbwd():
                    y = F.conv2d(x, wt, bias, stride=stride, padding=pad, dilation=dil, groups=groups)
                    torch.autograd.grad(y.sum(), [x, wt, bias])

                reply(measure(fwdbwd if grad else fwd, min_time, min_reps, warm))
            elif parts[0] == "train" and len(parts) == 6:
                model, sample = train_model(torch, parts[1])
                batch = int(parts[2])
                min_time, min_reps, warm = float(parts[3]), int(parts[4]), float(parts[5])
                x = torch.randn(batch, *sample)
                y = torch.randint(0, 10, (batch,))
                opt = torch.optim.Adam(model.parameters(), lr=1e-3)

                def step():
                    opt.zero_grad(set_to_none=True)
                    F.cross_entropy(model(x), y).backward()
                    opt.step()

                reply(measure(step, min_time, min_reps, warm))
            else:
                reply({"error": "bad request"})
        except Exception as e:
            reply({"error": f"{type(e).__name__}: {e}".splitlines()[0]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
