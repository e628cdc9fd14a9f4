"""Probe: the actors' training forward + backward, one nn.LSTM per actor vs all actors stacked.

    OMP_NUM_THREADS=1 python docs/results/raw/benchmark_scale/stacked_learner_probe.py N B

N actors (2x128 ReLU + LSTM 128 + a 6-logit head), B episodes of 100 slots each. serial: each
actor's RecurrentTrunk (torch's fused LSTM) in turn, one backward; stacked: every layer as one
batched matmul over the N actors (the input projection for all slots at once, then a Python
loop over the slots), one backward. Mean of 5 calls, 3 rounds alternating. A negative result:
see docs/iagc.md ("Episodes built per agent").
"""
import time, torch, sys
torch.manual_seed(0)
N, B, T, D, H, A = int(sys.argv[1]), int(sys.argv[2]), 100, 17, 128, 6
from rllib_experiments.iagc.modules import RecurrentTrunk
trunks = [RecurrentTrunk(D, (128, 128), H) for _ in range(N)]
heads = [torch.nn.Linear(H, A) for _ in range(N)]
obs = torch.randn(N, B, T, D)
def serial():
    loss = 0
    for n in range(N):
        f, _ = trunks[n](obs[n]); loss = loss + heads[n](f).logsumexp(-1).mean()
    loss.backward()
def stacked():
    Ws = [torch.stack([t.dense[i].weight for t in trunks]).transpose(1, 2) for i in (0, 2)]
    bs = [torch.stack([t.dense[i].bias for t in trunks]).unsqueeze(1) for i in (0, 2)]
    x = obs.reshape(N, B * T, D)
    for w, b in zip(Ws, bs):
        x = torch.baddbmm(b, x, w).relu()
    L = [t.lstm for t in trunks]
    wih = torch.stack([l.weight_ih_l0 for l in L]).transpose(1, 2)
    whh = torch.stack([l.weight_hh_l0 for l in L]).transpose(1, 2)
    b = torch.stack([l.bias_ih_l0 + l.bias_hh_l0 for l in L]).unsqueeze(1)
    gx = torch.baddbmm(b, x, wih).reshape(N, B, T, 4 * H)
    h = torch.zeros(N, B, H); c = torch.zeros(N, B, H); hs = []
    for t in range(T):
        g = torch.baddbmm(gx[:, :, t], h, whh)
        i, f, gg, o = g.chunk(4, -1)
        c = f.sigmoid() * c + i.sigmoid() * gg.tanh()
        h = o.sigmoid() * c.tanh(); hs.append(h)
    feat = torch.stack(hs, 2).reshape(N, B * T, H)
    hw = torch.stack([h_.weight for h_ in heads]).transpose(1, 2); hb = torch.stack([h_.bias for h_ in heads]).unsqueeze(1)
    logits = torch.baddbmm(hb, feat, hw)
    (logits.logsumexp(-1).mean(-1).sum()).backward()
for fn in (serial, stacked):
    fn()
for rep in range(3):
    for fn in (serial, stacked):
        t0 = time.perf_counter(); [fn() for _ in range(5)]; print(fn.__name__, (time.perf_counter() - t0) / 5)
