"""PyTorch reference of mmrun's benchmark workloads (bench/models.ts), same architecture and sizes.

One measurement per process, printed as one JSON line: python bench/reference.py --model cnn.
Mirrors runner/model/{image-branch,text-branch,network,losses}.ts; keep them in sync.
"""
import argparse
import json
import math
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

BATCH, CLASSES, IMAGE, MIN_TOKENS = 64, 10, (28, 28, 1), 8  # bench/models.ts SIZES
DIM, TEMPERATURE = 64, 0.07  # projection, initial InfoNCE temperature
BN_EPS = 1e-3  # runner/model/image-branch.ts; momentum 0.1 here = 0.9 there (running = 0.9 running + 0.1 batch)
# runner/config/presets.ts (image, text) and bench/models.ts (vocabulary per preset)
PRESETS = {
    "small": dict(FILTERS=[16, 32], DENSE=128, BATCH_NORM=False, IMAGE_DROPOUT=0.0,
                  MAX_LEN=32, WIDTH=64, HEADS=2, MLP=128, LAYERS=1, TEXT_DROPOUT=0.0, VOCAB=2000),
    "medium": dict(FILTERS=[32, 64, 128], DENSE=256, BATCH_NORM=True, IMAGE_DROPOUT=0.1,
                   MAX_LEN=64, WIDTH=128, HEADS=4, MLP=256, LAYERS=2, TEXT_DROPOUT=0.1, VOCAB=8000),
}
globals().update(PRESETS["small"])  # set for real in main() from --preset
WEIGHTS = {"cnn": None, "text": (0.0, 1.0, 0.0), "multimodal": (1.0, 1.0, 0.5)}


class ImageBranch(nn.Module):
    """conv3x3-[batch norm]-relu-maxpool2 blocks ('same' padding), flatten, dense-relu, dropout, linear out."""

    def __init__(self, out_dim):
        super().__init__()
        h, w, c = IMAGE
        convs, norms = [], []
        for f in FILTERS:
            # With batch norm the conv has no bias (the norm's beta is the shift), as in mmrun.
            convs.append(nn.Conv2d(c, f, 3, padding=1, bias=not BATCH_NORM))
            norms.append(nn.BatchNorm2d(f, eps=BN_EPS, momentum=0.1) if BATCH_NORM else nn.Identity())
            c, h, w = f, math.ceil(h / 2), math.ceil(w / 2)
        self.convs, self.norms = nn.ModuleList(convs), nn.ModuleList(norms)
        self.dense = nn.Linear(h * w * c, DENSE)
        self.dropout = nn.Dropout(IMAGE_DROPOUT)
        self.out = nn.Linear(DENSE, out_dim)

    def forward(self, x):
        for conv, norm in zip(self.convs, self.norms):
            x = F.max_pool2d(F.relu(norm(conv(x))), 2, ceil_mode=True)
        return self.out(self.dropout(F.relu(self.dense(x.flatten(1)))))


class EncoderLayer(nn.Module):
    """Pre-LN: x + attn(ln1(x)); x + mlp(ln2(x)); heads by batched matmuls."""

    def __init__(self):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(WIDTH, eps=1e-5), nn.LayerNorm(WIDTH, eps=1e-5)
        self.qkv, self.attn_out = nn.Linear(WIDTH, 3 * WIDTH), nn.Linear(WIDTH, WIDTH)
        self.mlp_in, self.mlp_out = nn.Linear(WIDTH, MLP), nn.Linear(MLP, WIDTH)
        self.drop_attn, self.drop_mlp = nn.Dropout(TEXT_DROPOUT), nn.Dropout(TEXT_DROPOUT)

    def forward(self, x, b, l, key_bias):
        d = WIDTH // HEADS
        qkv = self.qkv(self.ln1(x)).view(b, l, 3 * HEADS, d).transpose(1, 2)
        q, k, v = qkv.split(HEADS, dim=1)
        scores = q @ k.transpose(-1, -2) * (1 / math.sqrt(d)) + key_bias
        attended = torch.softmax(scores, -1) @ v
        x = x + self.drop_attn(self.attn_out(attended.transpose(1, 2).reshape(b * l, WIDTH)))
        return x + self.drop_mlp(self.mlp_out(F.relu(self.mlp_in(self.ln2(x)))))


class TextBranch(nn.Module):
    def __init__(self, out_dim):
        super().__init__()
        self.tok = nn.Embedding(VOCAB, WIDTH)
        self.pos = nn.Parameter(torch.randn(MAX_LEN, WIDTH) * 0.02)
        self.layers = nn.ModuleList([EncoderLayer() for _ in range(LAYERS)])
        self.ln = nn.LayerNorm(WIDTH, eps=1e-5)
        self.dropout = nn.Dropout(TEXT_DROPOUT)
        self.out = nn.Linear(WIDTH, out_dim)

    def forward(self, ids):
        b, l = ids.shape
        mask = (ids != 0).float()
        key_bias = ((1 - mask) * -1e9).view(b, 1, 1, l)
        x = self.dropout((self.tok(ids) + self.pos[:l]).view(b * l, WIDTH))
        for layer in self.layers:
            x = layer(x, b, l, key_bias)
        states = self.ln(x).view(b, l, WIDTH)
        m = mask.view(b, l, 1)
        return self.out((states * m).sum(1) / m.sum(1).clamp(min=1))


def l2_normalize(x):
    return x * torch.rsqrt((x * x).sum(-1, keepdim=True).clamp(min=1e-12))


class Network(nn.Module):
    """Both branches, one linear shared projection, L2-normalised, one shared head (cosine scale)."""

    def __init__(self):
        super().__init__()
        self.image, self.text = ImageBranch(DIM), TextBranch(DIM)
        self.projection, self.head = nn.Linear(DIM, DIM), nn.Linear(DIM, CLASSES)
        self.log_scale = nn.Parameter(torch.tensor(math.log(1 / TEMPERATURE)))

    def embed(self, h):
        return l2_normalize(self.projection(h))

    def logits(self, z):
        return self.head(z * math.sqrt(DIM))

    def losses(self, batch, weights):
        wi, wt, wa = weights
        total = 0
        zi = self.embed(self.image(batch["images"])) if wi > 0 or wa > 0 else None
        zt = self.embed(self.text(batch["tokens"])) if wt > 0 or wa > 0 else None
        if wi > 0:
            total = total + wi * F.cross_entropy(self.logits(zi), batch["image_labels"])
        if wt > 0:
            total = total + wt * F.cross_entropy(self.logits(zt), batch["text_labels"])
        if wa > 0:
            scale = torch.exp(torch.clamp(self.log_scale, max=math.log(100)))
            logits = zi @ zt.t() * scale
            target = torch.arange(zi.shape[0])
            total = total + wa * 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))
        return total


def random_batch(gen):
    h, w, c = IMAGE
    ids = torch.zeros(BATCH, MAX_LEN, dtype=torch.long)
    for b in range(BATCH):
        n = MIN_TOKENS + int(torch.randint(MAX_LEN - MIN_TOKENS + 1, (1,), generator=gen))
        ids[b, :n] = torch.randint(3, VOCAB, (n,), generator=gen)
    return {
        "images": torch.rand(BATCH, c, h, w, generator=gen),
        "tokens": ids,
        "image_labels": torch.randint(CLASSES, (BATCH,), generator=gen),
        "text_labels": torch.randint(CLASSES, (BATCH,), generator=gen),
    }


def workload(name):
    gen = torch.Generator().manual_seed(1)
    batch = random_batch(gen)
    if name == "cnn":
        net = ImageBranch(CLASSES)
        loss_fn = lambda: F.cross_entropy(net(batch["images"]), batch["image_labels"])
        forward = lambda: net(batch["images"])
    else:
        net = Network()
        weights = WEIGHTS[name]
        if name == "text":  # only the parameters the text loss uses, as mmrun trains
            net.image = None
        loss_fn = lambda: net.losses(batch, weights)
        forward = (
            (lambda: net.logits(net.embed(net.text(batch["tokens"]))))
            if name == "text"
            else (lambda: torch.cat([net.logits(net.embed(net.image(batch["images"]))), net.logits(net.embed(net.text(batch["tokens"])))], 1))
        )
    return net, loss_fn, forward


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True, choices=list(WEIGHTS))
    p.add_argument("--preset", default="small", choices=list(PRESETS))
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    globals().update(PRESETS[a.preset])
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    net, loss_fn, forward = workload(a.model)
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()
        opt.step()
        return loss.item()  # as mmrun's loop reads the loss every step

    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(a.warmup):
        step()
    warmup_s, warmup_cpu = time.perf_counter() - t0, time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(a.steps):
        step()
    train_s, train_cpu = time.perf_counter() - t0, time.process_time() - c0
    net.eval()  # inference: batch norm from running statistics, no dropout (as mmrun's forward)
    with torch.no_grad():
        for _ in range(3):
            forward()
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(a.steps):
            forward().sum().item()
        forward_s, forward_cpu = time.perf_counter() - t0, time.process_time() - c0
    print(json.dumps({
        "model": a.model,
        "preset": a.preset,
        "backend": f"pytorch {torch.__version__} cpu ({torch.backends.cpu.get_cpu_capability()}), {torch.get_num_threads()} thread(s)",
        "train_samples_per_s": a.steps * BATCH / train_s,
        "forward_samples_per_s": a.steps * BATCH / forward_s,
        "train_samples_per_cpu_s": a.steps * BATCH / train_cpu,
        "warmup_samples_per_s": a.warmup * BATCH / warmup_s if a.warmup else None,
        "warmup_samples_per_cpu_s": a.warmup * BATCH / warmup_cpu if a.warmup else None,
        "forward_samples_per_cpu_s": a.steps * BATCH / forward_cpu,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()
