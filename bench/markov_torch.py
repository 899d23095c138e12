#!/usr/bin/env python3
"""PyTorch reference of `stagewise train markov` for the speed comparison.

The same model and task as src/train/markov.c, written the way one would in
PyTorch: one-hot token + position inputs e_u (E = S + N), per head a score
matrix W_h (E x E) and a value read-out V_h (S x E), causal softmax
attention, logits = sum_h V_h sum_u a_tu e_u, cross-entropy on the positions
whose target the chain drew.  Every step draws a fresh batch from the chain
(in torch, vectorised over the batch), as stagewise does.  The chain's
features A_k = lambda_k Q_k come from torch's own generator: the timing does
not depend on which orthogonal Q_k.

    python3 bench/markov_torch.py STEPS [THREADS [float64|float32]]

Prints steps, wall and CPU seconds of the training loop (setup excluded) and
the final minibatch loss.
"""
import math
import sys
import time

import torch

S, N, K, M, H = 10, 32, 3, 1, 3
GAMMA, C, SIGMA = 2.0, 1.0, 0.1
LR, BATCH = 1e-2, 128
DT = torch.float64  # stagewise computes in double; argv[3] = float32 for the single-precision time


def chain(gen):
    lam = [C * GAMMA ** (K - 1 - g) for g in range(K)]
    qs = [torch.linalg.qr(torch.randn(S, S, generator=gen, dtype=DT))[0]
          for _ in range(K)]
    return torch.stack([l * q for l, q in zip(lam, qs)])  # K x S x S


def sample(A, gen, count):
    n = K * M
    x = torch.empty(count, N + 1, dtype=torch.long)
    x[:, :n] = torch.randint(0, S, (count, n), generator=gen)
    for t in range(n - 1, N):
        logit = torch.zeros(count, S, dtype=DT)
        for g in range(K):
            for j in range(g * M + 1, (g + 1) * M + 1):
                logit += A[g][:, x[:, t + 1 - j]].T / M
        x[:, t + 1] = torch.multinomial(torch.softmax(logit, 1), 1, generator=gen)[:, 0]
    return x


def forward(W, V, x):
    n = K * M
    E = S + N
    onehot = torch.cat([torch.nn.functional.one_hot(x[:, :N], S).to(DT),
                        torch.eye(N, dtype=DT).expand(x.shape[0], N, N)], 2)
    mask = torch.ones(N, N, dtype=torch.bool).tril()
    logits = 0
    for h in range(H):
        scores = onehot @ W[h] @ onehot.transpose(1, 2)          # B x N x N
        att = torch.softmax(scores.masked_fill(~mask, -math.inf), 2)
        logits = logits + (att @ onehot) @ V[h].T                # B x N x S
    pred = logits[:, n - 1:N].reshape(-1, S)
    target = x[:, n:N + 1].reshape(-1)
    assert onehot.shape[2] == E
    return torch.nn.functional.cross_entropy(pred, target)


def main():
    steps = int(sys.argv[1])
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    global DT
    if len(sys.argv) > 3:
        DT = getattr(torch, sys.argv[3])
    torch.set_num_threads(threads)
    gen = torch.Generator().manual_seed(1)
    A = chain(gen)
    E = S + N
    W = ((torch.rand(H, E, E, generator=gen, dtype=DT) * 2 - 1) * SIGMA).requires_grad_()
    V = torch.zeros(H, S, E, dtype=DT, requires_grad=True)
    opt = torch.optim.Adam([W, V], lr=LR)
    w0, c0 = time.perf_counter(), time.process_time()
    for _ in range(steps):
        x = sample(A, gen, BATCH)
        opt.zero_grad()
        loss = forward(W, V, x)
        loss.backward()
        opt.step()
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    print(f"steps={steps} wall={wall:.3f} cpu={cpu:.3f} steps_per_cpu_s={steps / cpu:.1f} "
          f"loss={loss.item():.4f}")


if __name__ == "__main__":
    main()
