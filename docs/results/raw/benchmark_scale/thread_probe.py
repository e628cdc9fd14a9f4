"""Does splitting independent LSTM actors' forward + backward + Adam over 2 threads use 2 cores?

Run from the repo root: OMP_NUM_THREADS=1 python docs/results/raw/benchmark_scale/thread_probe.py N [--bf16]
(2026-12-02b: N = 10, 10 --bf16, 100, 100 --bf16, idle machine; output thread_probe.out)."""
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[4]))  # the repo root
from rllib_experiments.iagc.modules import RecurrentTrunk  # noqa: E402
torch.set_num_threads(1)
torch.manual_seed(0)
N, B, T, D = int(sys.argv[1]) if len(sys.argv) > 1 else 10, 8, 100, 10
bf16 = "--bf16" in sys.argv
actors = []
for n in range(N):
    trunk = RecurrentTrunk(D, (128, 128), 128, 1)
    head = torch.nn.Linear(128, 6)
    params = list(trunk.parameters()) + list(head.parameters())
    actors.append((trunk, head, torch.optim.Adam(params, fused=True)))
obs = torch.randn(N, B, T, D)
acts = torch.randint(0, 6, (N, B, T))


def step(n):
    trunk, head, opt = actors[n]
    opt.zero_grad(set_to_none=True)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        out, _ = trunk(obs[n])  # ([B, T, 128], (h, c))
        logits = head(out).float()
    loss = -torch.log_softmax(logits, -1).gather(-1, acts[n][..., None]).mean()
    loss.backward()
    opt.step()


def serial():
    for n in range(N):
        step(n)


pool = ThreadPoolExecutor(2)


def threaded():
    half = N // 2
    list(pool.map(lambda ids: [step(n) for n in ids], [range(0, half), range(half, N)]))


for f in (serial, threaded):  # warm-up
    f()
res = {"serial": [], "threaded": []}
for _ in range(5):  # interleaved, best of 5
    for name, f in (("serial", serial), ("threaded", threaded)):
        start = time.perf_counter()
        f()
        res[name].append(time.perf_counter() - start)
pool.shutdown()
s, th = min(res["serial"]), min(res["threaded"])
print(f"N={N} bf16={bf16}: serial {s:.3f} s, 2 threads {th:.3f} s, speed-up {s/th:.2f}")
