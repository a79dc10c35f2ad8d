"""The seed's method: one ``torch.nn.Linear(d, d)`` trained with Adam, with early stopping."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from instructlin.core.choices import Loss
from instructlin.extras import require


@dataclass(frozen=True)
class EpochRecord:
    """Losses after one epoch; ``val_cosine`` is the mean cosine to the target on the held-out slice."""

    epoch: int
    train_loss: float
    val_loss: float
    val_cosine: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


EpochCallback = Callable[[EpochRecord], "bool | None"]


def _loss(pred, target, loss: Loss):
    F = require("torch.nn.functional", purpose="method='sgd'")

    mse = F.mse_loss(pred, target) * target.shape[1]  # per-row squared error, not per element
    cos = 1.0 - F.cosine_similarity(pred, target, dim=1).mean()
    return {Loss.MSE: mse, Loss.COSINE: cos, Loss.MSE_COSINE: mse + cos}[loss]


def validation_size(n: int, fraction: float = 0.1) -> int:
    """Pairs held out for early stopping out of ``n`` (none under 4: the training pairs are scored instead)."""
    return max(1, int(round(fraction * n))) if n >= 4 else 0


def train_linear(
    X: np.ndarray,
    Y: np.ndarray,
    *,
    epochs: int = 300,
    learning_rate: float = 1e-3,
    batch_size: int = 64,
    weight_decay: float = 0.0,
    loss: str | Loss = Loss.MSE,
    patience: int = 20,
    validation_fraction: float = 0.1,
    device: str = "cpu",
    seed: int = 42,
    callback: EpochCallback | None = None,
) -> tuple[np.ndarray, np.ndarray, list[EpochRecord]]:
    """Fit ``Y ~ X @ W + b``; returns the best weights by validation loss and the epoch history.

    Starts from the identity when the dimensions agree (the base is already a good guess).
    The callback sees every epoch's record and stops training by returning False.
    """
    torch = require("torch", purpose="method='sgd'")

    loss = Loss(loss)
    generator = torch.Generator().manual_seed(seed)
    n = len(X)
    perm = torch.randperm(n, generator=generator).numpy()
    n_val = validation_size(n, validation_fraction)
    val_idx, train_idx = perm[:n_val], perm[n_val:]
    x = torch.as_tensor(X, dtype=torch.float32, device=device)
    y = torch.as_tensor(Y, dtype=torch.float32, device=device)
    x_val, y_val = (x[val_idx], y[val_idx]) if n_val else (x[train_idx], y[train_idx])

    torch.manual_seed(seed)
    layer = torch.nn.Linear(X.shape[1], Y.shape[1]).to(device)
    if X.shape[1] == Y.shape[1]:
        with torch.no_grad():
            layer.weight.copy_(torch.eye(X.shape[1], device=device))
            layer.bias.zero_()
    optimizer = torch.optim.Adam(layer.parameters(), lr=learning_rate, weight_decay=weight_decay)

    history: list[EpochRecord] = []
    best = (float("inf"), layer.weight.detach().clone(), layer.bias.detach().clone())
    stale = 0
    train_t = torch.as_tensor(train_idx, device=device)
    for epoch in range(1, epochs + 1):
        layer.train()
        order = train_t[torch.randperm(len(train_t), generator=generator).to(device)]
        total = 0.0
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            optimizer.zero_grad()
            value = _loss(layer(x[batch]), y[batch], loss)
            value.backward()
            optimizer.step()
            total += float(value.detach()) * len(batch)
        layer.eval()
        with torch.no_grad():
            pred = layer(x_val)
            val_loss = float(_loss(pred, y_val, loss))
            val_cos = float(torch.nn.functional.cosine_similarity(pred, y_val, dim=1).mean())
        record = EpochRecord(epoch, total / max(1, len(order)), val_loss, val_cos)
        history.append(record)
        if val_loss < best[0] - 1e-7:
            best = (val_loss, layer.weight.detach().clone(), layer.bias.detach().clone())
            stale = 0
        else:
            stale += 1
        if callback is not None and callback(record) is False:
            break
        if stale >= patience:
            break
    _, weight, bias = best
    return weight.T.cpu().numpy(), bias.cpu().numpy(), history
