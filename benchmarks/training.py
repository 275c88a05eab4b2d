"""Training speed: aefeatures vs PyOD's AutoEncoder vs a plain torch loop, against the GEMM rate.

All in one process, one run, same data, same thread count, same layer widths
(64 -> 128 -> 32 -> 128 -> 64 by default):

- fp32 GEMM rate for exactly the training shapes (forward, input and weight gradients);
- rows/s of a minimal torch loop (preloaded tensors, fused Adam, MSE) and of aefeatures,
  each also as a share of that GEMM rate (6 x weights FLOPs per training row);
- PyOD ``AutoEncoder`` with the same widths (no batch norm, no dropout) and at its defaults;
- time to reach PyOD's final validation error: PyOD trains ``--pyod-epochs`` epochs, then
  aefeatures (its defaults apart from the widths and the objective: kind ``deep`` without the
  trimmed loss, as PyOD; and again at batch 1024) trains until its
  validation error, the same quantity (mean squared error of standardised columns) on the same
  held-out rows, is as low.

Needs PyOD (``make bench`` installs ``pyod`` and ``tqdm`` into the venv). Run::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/training.py --threads 1
    .venv/bin/python benchmarks/training.py --rows 1000000 --threads 2   # quiet machine only
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np
import polars as pl
import torch

import aefeatures as aef
from aefeatures.fitting.rows import split_rows


def make_data(rows: int, width: int, seed: int) -> np.ndarray:
    """Low-rank structure plus noise, so an autoencoder has something to learn."""
    rng = np.random.default_rng(seed)
    factors = rng.normal(size=(rows, 8)) @ rng.normal(size=(8, width))
    return (np.tanh(factors / 3) + 0.1 * rng.normal(size=(rows, width))).astype(np.float32)


def layer_shapes(width: int, hidden: int, latent: int) -> list[tuple[int, int]]:
    widths = [width, hidden, latent, hidden, width]
    return list(zip(widths[:-1], widths[1:], strict=True))


def gemm_rate(shapes: list[tuple[int, int]], batch: int, seconds: float = 2.0) -> float:
    """FLOP/s of the matrix products of one training step (forward, dX, dW) at ``batch``."""
    mats = [(torch.randn(batch, a), torch.randn(a, b), torch.randn(batch, b)) for a, b in shapes]
    flops = sum(3 * 2 * batch * a * b for a, b in shapes)

    def step() -> None:
        for x, w, dy in mats:
            x @ w
            dy @ w.T
            x.T @ dy

    for _ in range(20):
        step()
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        step()
        count += 1
    return flops * count / (time.perf_counter() - started)


def plain_loop(data: np.ndarray, shapes: list[tuple[int, int]], batch: int, epochs: int) -> float:
    """Rows/s of the simplest fast loop: preloaded tensor, random gather, fused Adam, MSE."""
    layers: list[torch.nn.Module] = []
    for i, (a, b) in enumerate(shapes):
        layers += [torch.nn.Linear(a, b)] + ([torch.nn.SiLU()] if i not in (1, len(shapes) - 1) else [])
    net = torch.nn.Sequential(*layers)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3, fused=True)
    x = torch.from_numpy(data)
    started = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(x))
        for begin in range(0, len(x), batch):
            rows = x[order[begin : begin + batch]]
            loss = torch.nn.functional.mse_loss(net(rows), rows)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return len(x) * epochs / (time.perf_counter() - started)


def run_aefeatures(
    frame: pl.DataFrame, hidden: int, latent: int, threads: int, **params: Any
) -> dict[str, Any]:
    """Fit and return rows/s over the epochs (validation passes included) and the loss curve."""
    curve: list[tuple[float, float]] = []
    model = aef.fit(
        frame,
        kind="deep",  # PyOD's objective: plain MSE on every row, no input noise and no trimmed loss
        trim=0.0,
        hidden=(hidden,),
        latent_dim=latent,
        threads=threads,
        seed=0,
        on_epoch=lambda epoch, record: curve.append((record["seconds"], record["valid_loss"])),
        **params,
    )
    history = model.metadata["history"]
    n_train = frame.height - int(round(frame.height * model.config.validation_fraction))
    return {
        "rows_per_s": n_train * len(curve) / history["seconds"],
        "curve": curve,
        "batch_size": history["batch_size"],
    }


def run_pyod(
    train: np.ndarray, valid: np.ndarray, hidden: int, latent: int, epochs: int, **params: Any
) -> dict[str, float]:
    """PyOD rows/s (its final scoring pass excluded) and its validation MSE on standardised columns."""
    from pyod.models.auto_encoder import AutoEncoder

    model = AutoEncoder(
        hidden_neuron_list=[hidden, latent], epoch_num=epochs, verbose=0, random_state=0, **params
    )
    started = time.perf_counter()
    model.fit(train)
    total = time.perf_counter() - started
    started = time.perf_counter()
    model.decision_function(train)
    seconds = total - (time.perf_counter() - started)
    distances = model.decision_function(valid)  # Euclidean, on columns standardised with the training moments
    return {
        "rows_per_s": len(train) * epochs / seconds,
        "seconds": seconds,
        "valid_mse": float(np.mean(distances**2) / train.shape[1]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--latent", type=int, default=32)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--epochs", type=int, default=3, help="epochs of the rows/s measurements")
    parser.add_argument("--pyod-epochs", type=int, default=5)
    parser.add_argument(
        "--max-epochs", type=int, default=15, help="aefeatures epochs allowed to reach PyOD's error"
    )
    parser.add_argument("--skip-pyod", action="store_true", help="leave PyOD out (it is not installed)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = make_data(args.rows, args.width, seed=0)
    train_index, valid_index = split_rows(args.rows, 0.1, 0)  # the split aefeatures makes with seed 0
    frame = pl.DataFrame(data, schema=[f"c{i}" for i in range(args.width)])
    shapes = layer_shapes(args.width, args.hidden, args.latent)
    weights = sum(a * b for a, b in shapes)
    result: dict[str, Any] = {
        "rows": args.rows,
        "threads": args.threads,
        "shapes": shapes,
        "weights": weights,
    }
    result.update(throughput(data[train_index], frame, shapes, args))
    if not args.skip_pyod:
        result.update(versus_pyod(data, frame, train_index, valid_index, args))
    print(json.dumps(result, indent=1) if args.json else _table(result))


def throughput(
    train: np.ndarray, frame: pl.DataFrame, shapes: list[tuple[int, int]], args: Any
) -> dict[str, Any]:
    """GEMM rate, plain-loop and aefeatures rows/s at three batch sizes."""
    weights = sum(a * b for a, b in shapes)
    result: dict[str, Any] = {}
    for batch in (256, 1024, 4096):
        gemm = gemm_rate(shapes, batch)
        plain = plain_loop(train, shapes, batch, args.epochs)
        ours = run_aefeatures(
            frame,
            args.hidden,
            args.latent,
            args.threads,
            batch_size=batch,
            epochs=args.epochs,
            patience=100_000,
        )
        result[f"batch_{batch}"] = {
            "gemm_gflops": gemm / 1e9,
            "plain_rows_per_s": plain,
            "plain_share_of_gemm": plain * 6 * weights / gemm,
            "aefeatures_rows_per_s": ours["rows_per_s"],
            "aefeatures_share_of_gemm": ours["rows_per_s"] * 6 * weights / gemm,
            "aefeatures_vs_plain": ours["rows_per_s"] / plain,
        }
    return result


def versus_pyod(
    data: np.ndarray, frame: pl.DataFrame, train_index: np.ndarray, valid_index: np.ndarray, args: Any
) -> dict[str, Any]:
    """PyOD rows/s, and aefeatures' time to reach PyOD's final validation error."""
    train, valid = data[train_index], data[valid_index]
    same = run_pyod(
        train,
        valid,
        args.hidden,
        args.latent,
        args.pyod_epochs,
        batch_size=256,
        batch_norm=False,
        dropout_rate=0.0,
    )
    defaults = run_pyod(train, valid, 64, 32, 1)
    ttt: dict[str, Any] = {"pyod_seconds": same["seconds"], "pyod_valid_mse": same["valid_mse"]}
    for name, params in (("default_batch", {}), ("batch_1024", {"batch_size": 1024})):
        ours = run_aefeatures(frame, args.hidden, args.latent, args.threads, epochs=args.max_epochs, **params)
        reached = next((seconds for seconds, loss in ours["curve"] if loss <= same["valid_mse"]), None)
        ttt[name] = {
            "batch_size": ours["batch_size"],
            "seconds": reached,
            "best_valid": min(loss for _, loss in ours["curve"]),
            "speedup": None if reached is None else same["seconds"] / reached,
        }
    return {
        "pyod": {"same_widths_batch_256": same, "defaults_rows_per_s": defaults["rows_per_s"]},
        "time_to_pyod_error": ttt,
    }


def _table(result: dict[str, Any]) -> str:
    lines = [f"training: {result['rows']} rows, widths {result['shapes']}, {result['threads']} thread(s)"]
    for key, v in result.items():
        if key.startswith("batch_"):
            lines.append(
                f"  {key}: GEMM {v['gemm_gflops']:.1f} GFLOP/s | plain loop {v['plain_rows_per_s']:,.0f} "
                f"rows/s ({v['plain_share_of_gemm']:.0%} of GEMM) | "
                f"aefeatures {v['aefeatures_rows_per_s']:,.0f} rows/s "
                f"({v['aefeatures_share_of_gemm']:.0%} of GEMM, {v['aefeatures_vs_plain']:.2f}x plain)"
            )
    if "pyod" not in result:
        return "\n".join(lines)
    pyod, ttt = result["pyod"], result["time_to_pyod_error"]
    lines.append(
        f"  PyOD same widths, batch 256: {pyod['same_widths_batch_256']['rows_per_s']:,.0f} rows/s; "
        f"at its defaults: {pyod['defaults_rows_per_s']:,.0f} rows/s"
    )
    lines.append(
        f"  aefeatures (batch 1024) / PyOD defaults, rows/s: "
        f"{result['batch_1024']['aefeatures_rows_per_s'] / pyod['defaults_rows_per_s']:.1f}x"
    )
    lines.append(
        f"  time to PyOD's validation MSE {ttt['pyod_valid_mse']:.4f} (PyOD: {ttt['pyod_seconds']:.1f}s):"
    )
    for name in ("default_batch", "batch_1024"):
        run = ttt[name]
        if run["seconds"] is None:
            lines.append(
                f"    aefeatures batch {run['batch_size']}: not reached (best {run['best_valid']:.4f})"
            )
        else:
            lines.append(
                f"    aefeatures batch {run['batch_size']}: {run['seconds']:.1f}s "
                f"-> {run['speedup']:.1f}x faster"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
