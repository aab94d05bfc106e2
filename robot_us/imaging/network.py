"""The network of the shipped quality model and what its training needs beyond the loop
in ``robot_us.imaging.training`` (needs the ``train`` extra; torch is imported inside the
functions, so this module loads without it).

- ``build_network()``: four 3x3 conv blocks (16-32-48-64, batch norm, max pooling), global
  average pooling; heads: 4-way class, score, ``flipped`` (the frame is upside down) and
  ``not_bmode`` (the frame lacks the statistics of B-mode speckle).
- ``batch_loss``: per batch, a fraction of the frames is turned upside down (only the
  flipped head learns from them) and a fraction replaced by a surrogate that keeps the
  frame's power spectrum (and in half of them its grey-level histogram) with random
  Fourier phases (only the not-B-mode head learns from those). The surrogates are made
  from the training frames themselves: no out-of-distribution frames are trained on.
- ``fit_novelty``: the mean and inverse covariance of the training frames' features (per
  block, the spatial mean and standard deviation of every channel) and the reference
  distance (validation frames), for the exported ``novelty`` output.
- ``Exported``: the net with softmax and sigmoids and the novelty, as the ONNX contract
  (``perception.quality.model``) wants.
"""

from __future__ import annotations

import itertools

import numpy as np

from perception.quality.classes import CLASS_ORDER
from perception.quality.model import (
    FLIPPED_OUTPUT,
    NOT_BMODE_OUTPUT,
    NOVELTY_OUTPUT,
    PROBS_OUTPUT,
    SCORE_OUTPUT,
)

#: Surrogates are made only of frames with at least MIN_TEXTURE of their pixels above
#: TEXTURE_LEVEL (0..1): a dark no-contact frame has no speckle to randomise.
TEXTURE_LEVEL = 0.02
MIN_TEXTURE = 0.5
#: A head's decision threshold is at least this, and above the HEAD_QUANTILE of its
#: output on the validation frames it should not fire on (recorded in the ONNX metadata).
MIN_HEAD_THRESHOLD = 0.5
MAX_HEAD_THRESHOLD = 0.99
HEAD_QUANTILE = 99.5
#: ONNX output names, in the order ``Exported`` returns them.
OUTPUT_NAMES = (PROBS_OUTPUT, SCORE_OUTPUT, FLIPPED_OUTPUT, NOT_BMODE_OUTPUT, NOVELTY_OUTPUT)
#: Channels of the four conv blocks.
CHANNELS = (16, 32, 48, 64)
#: Shrinkage of the feature covariance towards its mean variance (keeps it invertible).
COV_SHRINK = 0.05
#: The novelty reference: this quantile of the validation frames' distances, times
#: NOVELTY_MARGIN (validation frames are valid frames not used to fit the distribution).
NOVELTY_QUANTILE = 99.5
NOVELTY_MARGIN = 1.25


def build_network():
    """A new ``QualityNet`` (see the module doc); ``forward(x)`` returns (class logits,
    score logit, flipped logit, not-B-mode logit, novelty features)."""
    import torch  # the optional 'train' extra: loaded only when training
    from torch import nn

    class QualityNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()

            def block(cin: int, cout: int) -> nn.Sequential:
                return nn.Sequential(
                    nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU()
                )

            chans = (1, *CHANNELS)
            self.blocks = nn.ModuleList(block(a, b) for a, b in itertools.pairwise(chans))
            self.pool = nn.MaxPool2d(2)
            last = CHANNELS[-1]
            self.cls = nn.Linear(last, len(CLASS_ORDER))
            self.score = nn.Linear(last, 1)
            self.flipped = nn.Linear(last, 1)
            self.not_bmode = nn.Linear(last, 1)

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
            stats = []
            for k, blk in enumerate(self.blocks):
                if k > 0:
                    x = self.pool(x)
                x = blk(x)
                flat = x.flatten(2)
                stats += [flat.mean(dim=2), flat.std(dim=2)]
            f = stats[-2]  # global average pool of the last block
            heads = (self.cls(f), self.score(f), self.flipped(f), self.not_bmode(f))
            return (*heads, torch.cat(stats, dim=1))

    return QualityNet()


def build_exported(net, novelty: dict):
    """``net`` wrapped for export: (probs, score, flipped, not_bmode, novelty)."""
    import torch  # the optional 'train' extra: loaded only when training
    from torch import nn

    class Exported(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net
            self.register_buffer("mean", torch.tensor(novelty["mean"], dtype=torch.float32))
            self.register_buffer("chol", torch.tensor(novelty["chol"], dtype=torch.float32))
            self.ref = float(novelty["reference"])

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
            logits, score, flipped, not_bmode, f = self.net(x)
            y = (f - self.mean) @ self.chol
            novelty = torch.sqrt((y * y).sum(dim=1, keepdim=True)) / self.ref
            probs = torch.softmax(logits, dim=1)
            heads = (torch.sigmoid(score), torch.sigmoid(flipped), torch.sigmoid(not_bmode))
            return (probs, *heads, novelty)

    return Exported().eval()


def surrogate(x, gen):
    """Copies of frames ``x`` [N, 1, H, W] (0..1) with their power spectrum and random
    Fourier phases, rescaled to the frame's mean and spread; every other one also takes
    the frame's grey-level histogram (rank remapping). Pixels that were 0 (outside the
    imaging area) stay 0."""
    import torch  # the optional 'train' extra: loaded only when training

    n, _, h, w = x.shape
    spec = torch.fft.rfft2(x)
    phase = torch.rand(spec.shape, generator=gen) * (2 * np.pi)
    phase[..., 0, 0] = 0.0
    y = torch.fft.irfft2(torch.abs(spec) * torch.exp(1j * phase), s=(h, w))
    flat_x, flat_y = x.reshape(n, -1), y.reshape(n, -1)
    mx, sx = flat_x.mean(1, keepdim=True), flat_x.std(1, keepdim=True)
    my, sy = flat_y.mean(1, keepdim=True), flat_y.std(1, keepdim=True)
    flat_y = (flat_y - my) / (sy + 1e-6) * sx + mx
    ranked = torch.empty_like(flat_y)
    order_y = torch.argsort(flat_y, dim=1)
    ranked.scatter_(1, order_y, torch.sort(flat_x, dim=1).values)
    keep = (torch.arange(n) % 2 == 0)[:, None]
    out = torch.where(keep, ranked, flat_y).clamp(0.0, 1.0).reshape(x.shape)
    return torch.where(x > 0, out, torch.zeros_like(out))


def batch_loss(net, xb, yb, sb, settings, gen):
    """The loss of one batch (see the module doc): class + weighted score loss on the
    upright B-mode frames, the flipped head on all frames, the not-B-mode head on the
    upright ones and the surrogates."""
    import torch  # the optional 'train' extra: loaded only when training
    from torch import nn

    n = len(xb)
    upside = torch.rand(n, generator=gen) < settings.flip_fraction
    textured = (xb > TEXTURE_LEVEL).float().mean(dim=(1, 2, 3)) >= MIN_TEXTURE
    fake = ~upside & textured & (torch.rand(n, generator=gen) < settings.surrogate_fraction)
    xb = torch.where(upside[:, None, None, None], xb.flip(-2), xb)
    if fake.any():
        xb = xb.clone()
        xb[fake] = surrogate(xb[fake], gen)
    logits, score, flipped, not_bmode, _ = net(xb)
    bce = nn.functional.binary_cross_entropy_with_logits
    loss = bce(flipped[:, 0], upside.float())
    up = ~upside
    loss = loss + bce(not_bmode[up, 0], fake[up].float())
    real = up & ~fake
    if real.any():
        loss = loss + nn.functional.cross_entropy(logits[real], yb[real])
        mse = nn.functional.mse_loss(torch.sigmoid(score[real]), sb[real])
        loss = loss + settings.score_weight * mse
    return loss


def head_accuracy(net, x, gen) -> dict[str, float]:
    """Accuracy of the flipped and not-B-mode heads on frames ``x`` (each frame upright
    and upside down; as is and as a surrogate), and their decision thresholds: the
    HEAD_QUANTILE of their outputs on the upright (textured) frames, within
    [MIN_HEAD_THRESHOLD, MAX_HEAD_THRESHOLD]."""
    import torch  # the optional 'train' extra: loaded only when training

    net.eval()
    with torch.no_grad():
        up = net(x)
        down = net(x.flip(-2))
        fake = net(surrogate(x, gen))
    flip = 0.5 * float((up[2][:, 0] <= 0).float().mean() + (down[2][:, 0] > 0).float().mean())
    bmode = 0.5 * float((up[3][:, 0] <= 0).float().mean() + (fake[3][:, 0] > 0).float().mean())
    textured = ((x > TEXTURE_LEVEL).float().mean(dim=(1, 2, 3)) >= MIN_TEXTURE).numpy()

    def threshold(p: np.ndarray) -> float:
        q = float(np.percentile(p, HEAD_QUANTILE))
        return round(min(MAX_HEAD_THRESHOLD, max(MIN_HEAD_THRESHOLD, q)), 4)

    return {
        "flipped": round(flip, 4),
        "not_bmode": round(bmode, 4),
        "flipped_threshold": threshold(torch.sigmoid(up[2][:, 0]).numpy()),
        "not_bmode_threshold": threshold(torch.sigmoid(up[3][textured, 0]).numpy()),
    }


def fit_novelty(net, x_train, x_val) -> dict:
    """Mean and inverse-covariance Cholesky factor of the training frames' features, and
    the reference distance (NOVELTY_QUANTILE of the validation frames x NOVELTY_MARGIN)."""
    import torch  # the optional 'train' extra: loaded only when training

    net.eval()
    with torch.no_grad():
        ft = net(x_train)[4].double().numpy()
        fv = net(x_val)[4].double().numpy()
    mean = ft.mean(axis=0)
    cov = np.cov(ft, rowvar=False)
    cov = (1 - COV_SHRINK) * cov + COV_SHRINK * np.trace(cov) / len(cov) * np.eye(len(cov))
    chol = np.linalg.cholesky(np.linalg.inv(cov))

    def dist(f: np.ndarray) -> np.ndarray:
        return np.sqrt((((f - mean) @ chol) ** 2).sum(axis=1))

    dv, dt = dist(fv), dist(ft)
    ref = float(np.percentile(dv, NOVELTY_QUANTILE) * NOVELTY_MARGIN)
    return {
        "mean": mean.tolist(),
        "chol": chol.tolist(),
        "reference": ref,
        "features": len(mean),
        "quantile": NOVELTY_QUANTILE,
        "margin": NOVELTY_MARGIN,
        "val_above_1": float(np.mean(dv > ref)),
        "train_above_1": float(np.mean(dt > ref)),
    }


def ood_calibration(stats: list) -> dict:
    """Quantiles of the training frames' image statistics (those with texture for the
    texture statistics) that ``perception.quality.ood``'s thresholds are set from."""
    from perception.quality.ood import MIN_TEXTURED

    out: dict = {"n": len(stats)}
    textured = [st for st in stats if st.textured >= MIN_TEXTURED]
    out["n_textured"] = len(textured)
    for name, pool in (
        ("saturated", stats),
        ("correlation", textured),
        ("sharpness", textured),
        ("flat", textured),
    ):
        v = np.array([getattr(st, name) for st in pool], dtype=np.float64)
        v = v[np.isfinite(v)]
        if v.size:
            q = np.percentile(v, [0.1, 50, 99.9])
            out[name] = {"q0.1": round(q[0], 4), "q50": round(q[1], 4), "q99.9": round(q[2], 4)}
    return out
