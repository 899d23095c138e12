"""The PyTorch reference of stagewise's small transformer, for bench/transformer.sh.

Same architecture as src/train/transformer/model.c: input embedding (a linear
map with bias for dense inputs, a table for tokens), fixed sinusoidal positions,
L blocks of [pre-LayerNorm] causal multi-head attention (d_qk per head, value
width d_model/heads, output projection, no biases) and [pre-LayerNorm] GELU MLP,
[final LayerNorm], linear readout of the last position.  Like the C code, the
last block computes only the query rows it reads out.  One training step:
fresh data, forward, backward, Adam.

usage: python3 transformer_torch.py TASK THREADS STEPS KEY=VALUE ...
  TASK: location (d, T) or recall (N_tokens, N_pairs); model keys L, heads,
  d_model, d_qk, mlp, mlp_factor, ln; batch.  Prints one JSON line.
"""
import json
import math
import sys
import time

import torch


def sinusoids(T, D):
    pe = torch.zeros(T, D)
    t = torch.arange(T, dtype=torch.float64)[:, None]
    j = torch.arange(D)
    f = torch.pow(10000.0, -(j - j % 2).double() / D)
    ang = t * f[None, :]
    pe[:, 0::2] = torch.sin(ang[:, 0::2]).float()
    pe[:, 1::2] = torch.cos(ang[:, 1::2]).float()
    return pe


class Block(torch.nn.Module):
    def __init__(self, D, H, dqk, F, ln, last):
        super().__init__()
        self.H, self.dqk, self.dv, self.last = H, dqk, D // H, last
        self.q = torch.nn.Linear(D, H * dqk, bias=False)
        self.k = torch.nn.Linear(D, H * dqk, bias=False)
        self.v = torch.nn.Linear(D, D, bias=False)
        self.o = torch.nn.Linear(D, D, bias=False)
        self.ln1 = torch.nn.LayerNorm(D) if ln else torch.nn.Identity()
        self.mlp = None
        if F:
            self.ln2 = torch.nn.LayerNorm(D) if ln else torch.nn.Identity()
            self.mlp = torch.nn.Sequential(torch.nn.Linear(D, F, bias=False),
                                           torch.nn.GELU(approximate="tanh"),
                                           torch.nn.Linear(F, D, bias=False))

    def forward(self, x):
        n, T, D = x.shape
        a = self.ln1(x)
        aq, xq = (a[:, -1:], x[:, -1:]) if self.last else (a, x)
        Tq = aq.shape[1]
        q = self.q(aq).view(n, Tq, self.H, self.dqk).transpose(1, 2)
        k = self.k(a).view(n, T, self.H, self.dqk).transpose(1, 2)
        v = self.v(a).view(n, T, self.H, self.dv).transpose(1, 2)
        s = q @ k.transpose(-1, -2) / math.sqrt(self.dqk)
        if not self.last:
            mask = torch.ones(T, T, dtype=torch.bool).triu(1)
            s = s.masked_fill(mask, float("-inf"))
        o = (s.softmax(-1) @ v).transpose(1, 2).reshape(n, Tq, D)
        x = xq + self.o(o)
        if self.mlp is not None:
            x = x + self.mlp(self.ln2(x))
        return x


class Net(torch.nn.Module):
    def __init__(self, c, d_in, vocab, d_out, T):
        super().__init__()
        D, L = c["d_model"], c["L"]
        F = c["mlp_factor"] * D if c["mlp"] else 0
        self.embed = torch.nn.Linear(d_in, D) if d_in else torch.nn.Embedding(vocab, D)
        self.register_buffer("pe", sinusoids(T, D))
        self.blocks = torch.nn.ModuleList(
            Block(D, c["heads"], c["d_qk"], F, c["ln"], l == L - 1) for l in range(L))
        self.lnf = torch.nn.LayerNorm(D) if c["ln"] else torch.nn.Identity()
        self.out = torch.nn.Linear(D, d_out, bias=False)

    def forward(self, x):
        h = self.embed(x) + self.pe
        for b in self.blocks:
            h = b(h)
        return self.out(self.lnf(h[:, -1]))


def main():
    task, threads, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    kv = dict(w.split("=") for w in sys.argv[4:])
    c = dict(L=2, heads=4, d_model=256, d_qk=64, mlp=1, mlp_factor=4, ln=0, batch=32)
    c.update({k: int(v) for k, v in kv.items()})
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    n = c["batch"]
    if task == "location":
        d, T = c["d"], c["T"]
        net = Net(c, d + 1, 0, d, T)
        Ws = torch.randn(d, d) / math.sqrt(d)

        def batch():
            x = torch.randn(n, T, d + 1) / math.sqrt(d)
            x[:, :, d] = 0
            t = torch.randint(T, (n,))
            x[torch.arange(n), t, d] = 1
            return x, x[torch.arange(n), t, :d] @ Ws.T

        def loss(z, y):
            return 0.5 * ((z - y) ** 2).sum(1).mean()
    else:
        V, P = c["N_tokens"], c["N_pairs"]
        T = 2 * P + 1
        net = Net(c, 0, V, V, T)

        def batch():
            keys = torch.rand(n, V).argsort(1)[:, :P]
            vals = torch.rand(n, V).argsort(1)[:, :P]
            x = torch.stack([keys, vals], 2).reshape(n, 2 * P)
            q = torch.randint(P, (n,))
            r = torch.arange(n)
            return torch.cat([x, keys[r, q][:, None]], 1), vals[r, q]

        loss = torch.nn.functional.cross_entropy
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)

    def step():
        x, y = batch()
        opt.zero_grad(set_to_none=True)
        loss(net(x), y).backward()
        opt.step()

    for _ in range(3):
        step()
    w0, c0 = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    params = sum(p.numel() for p in net.parameters())
    print(json.dumps(dict(steps=steps, wall=wall, cpu=cpu, params=params,
                          threads=torch.get_num_threads())))


if __name__ == "__main__":
    main()
