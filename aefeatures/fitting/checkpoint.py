"""Checkpoints of a running fit, so that a killed fit can continue where it stopped.

A checkpoint is a directory written atomically after an epoch (at most every
``every_seconds``): ``state.safetensors`` holds the weights, the best weights so far, the Adam
moments and the random generator states; ``state.json`` holds the epoch, the history, the
early-stopping counters and the fingerprint of the configuration and data it belongs to.
No pickle: resuming reads tensors and JSON only, and refuses a checkpoint of another fit.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import shlex
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeGuard

import torch
from safetensors.torch import load_file, save_file

from aefeatures.config import FitConfig, NetConfig
from aefeatures.errors import ConfigError, ModelFileError
from aefeatures.features.preprocessor import Encoded
from aefeatures.fitting.training import TrainState
from aefeatures.io.artifacts import artifact_kind
from aefeatures.io.sinks import atomic_path, check_output, file_sha256

log = logging.getLogger("aefeatures")

FORMAT = "aefeatures-checkpoint"
FORMAT_VERSION = 1
TENSORS = "state.safetensors"
STATE = "state.json"


class Checkpoint:
    """Where a fit keeps its checkpoint and how often it refreshes it.

    Parameters
    ----------
    path
        Checkpoint directory (the CLI uses ``<model dir>.checkpoint``).
    every_seconds
        Minimum seconds between two checkpoints; 0 writes one after every epoch.

    Examples
    --------
    >>> import aefeatures as aef
    >>> every_minute = Checkpoint("models/events.checkpoint", every_seconds=60)
    >>> model = aef.fit("events.parquet", checkpoint=every_minute, resume=True)  # doctest: +SKIP
    """

    def __init__(self, path: str | Path, *, every_seconds: float = 30.0) -> None:
        self.path = Path(path)
        self.every_seconds = every_seconds
        self._last = time.monotonic()

    def save(self, state: TrainState, fingerprint: dict[str, Any]) -> None:
        """Write ``state`` atomically, unless the last checkpoint is more recent than ``every_seconds``."""
        if time.monotonic() - self._last < self.every_seconds:
            return
        tensors = {f"net.{k}": v for k, v in state.net.items()}
        tensors |= {f"best.{k}": v for k, v in state.best_net.items()}
        tensors |= {f"adam.{i}.{k}": v for i, moments in state.adam.items() for k, v in moments.items()}
        tensors |= {"generator": state.generator, "rng": state.rng}
        if state.cuda_rng is not None:
            tensors["cuda_rng"] = state.cuda_rng
        with atomic_path(self.path, overwrite=True, kind="checkpoint") as temporary:
            temporary.mkdir()
            save_file({k: v.contiguous() for k, v in tensors.items()}, str(temporary / TENSORS))
            record = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "epoch": state.epoch,
                "best_loss": state.best_loss,
                "waited": state.waited,
                "epochs": state.epochs,
                "best_epoch": state.best_epoch,
                "elapsed": state.elapsed,
                "fingerprint": fingerprint,
                "tensors_sha256": file_sha256(temporary / TENSORS),
            }
            (temporary / STATE).write_text(json.dumps(record, indent=1))
        self._last = time.monotonic()

    def load(self, fingerprint: dict[str, Any]) -> TrainState | None:
        """The saved state, or ``None`` when there is no checkpoint; another fit's is an error."""
        if not (self.path / STATE).is_file():
            log.info("no checkpoint at %s: training starts from epoch 1", self.path)
            return None
        record = self._record()
        _require_same_fit(self.path, record.get("fingerprint"), fingerprint)
        _check_values(self.path, record, fingerprint["config"])
        try:
            state = _state_from(record, load_file(str(self.path / TENSORS), device="cpu"))
        except Exception as exc:  # safetensors raises its own error types for a malformed file
            raise _broken(self.path, f"{type(exc).__name__}: {exc}") from exc
        log.info("resuming from the checkpoint at %s after epoch %d", self.path, state.epoch)
        return state

    def remove(self) -> None:
        """Delete the checkpoint, once the model it led to is safely written; a directory that is
        not exactly a checkpoint aefeatures wrote (a user's, named by ``--checkpoint``) is kept."""
        if artifact_kind(self.path) == "checkpoint":
            shutil.rmtree(self.path, ignore_errors=True)

    def _record(self) -> dict[str, Any]:
        try:
            record = json.loads((self.path / STATE).read_text())
            complete = record["format"] == FORMAT and record["tensors_sha256"] == file_sha256(
                self.path / TENSORS
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise _broken(self.path, f"{type(exc).__name__}: {exc}") from exc
        if not complete or record.get("format_version") != FORMAT_VERSION:
            raise _broken(self.path, "its files do not match each other or come from another version")
        return record


def training_hooks(
    checkpoint: str | Path | Checkpoint | None,
    resume: bool,
    fingerprint: dict[str, Any],
    *,
    write: bool = True,
) -> tuple[TrainState | None, Callable[[TrainState], None] | None]:
    """The state to resume from (if asked and present) and the per-epoch checkpoint callback.

    ``write=False`` (every DDP rank but the first) resumes from the checkpoint but never writes it.
    """
    if checkpoint is None:
        if resume:
            raise ConfigError(
                "resume=True needs a checkpoint to resume from.", hint="pass checkpoint=DIR as well"
            )
        return None, None
    store = checkpoint if isinstance(checkpoint, Checkpoint) else Checkpoint(checkpoint)
    if write and not resume:  # before training: a path holding anything but a checkpoint is refused now
        check_output(store.path, True, kind="checkpoint")
    if write and not resume and (store.path / STATE).is_file():
        log.warning("starting over: the checkpoint at %s is replaced (--resume continues it)", store.path)
    state = store.load(fingerprint) if resume else None
    return state, (lambda current: store.save(current, fingerprint)) if write else None


def fit_fingerprint(config: FitConfig, net_config: NetConfig, encoded: Encoded) -> dict[str, Any]:
    """What a checkpoint must match to be resumed: the configuration and the encoded data."""
    digest = hashlib.sha256()
    for array in (encoded.inputs, encoded.observed, encoded.targets):
        digest.update(array.tobytes())
    return {
        "config": config.to_dict(),
        "net": net_config.to_dict(),
        "rows": encoded.n_rows,
        "data_sha256": digest.hexdigest(),
    }


def _require_same_fit(path: Path, saved: object, expected: dict[str, Any]) -> None:
    expected = json.loads(json.dumps(expected))  # compare as JSON reads it back: tuples become lists
    if saved == expected:
        return
    old: dict[str, Any] = saved if isinstance(saved, dict) else {}
    old_config: dict[str, Any] = old["config"] if isinstance(old.get("config"), dict) else {}
    now = expected["config"].items()
    changed = [f"{k}={old_config.get(k)!r} then, {v!r} now" for k, v in now if old_config.get(k) != v]
    if old.get("data_sha256") != expected["data_sha256"]:
        changed.append("the data")
    if not changed:
        changed.append("the network shape")
    raise ConfigError(
        f"the checkpoint at {str(path)!r} belongs to another fit (changed: {', '.join(changed)}).",
        hint=f"resume with the same data and options, or delete {path} to start over",
    )


def _check_values(path: Path, record: dict[str, Any], config: dict[str, Any]) -> None:
    """The training state's values: their types and ranges, the epoch within the fit's budget."""
    budget = config["epochs"] if config.get("epochs") is not None else config["epoch_cap"]
    epoch = _whole(path, record, "epoch", budget)
    _whole(path, record, "waited", epoch)
    _whole(path, record, "best_epoch", epoch)
    best = record.get("best_loss")
    if not _is_number(best) or not (math.isfinite(best) or best == math.inf):
        raise _broken(
            path, f"'best_loss' is {best!r}: expected a finite number, or Infinity before any epoch"
        )
    elapsed = record.get("elapsed")
    if not _is_number(elapsed) or not 0 <= elapsed < math.inf:
        raise _broken(path, f"'elapsed' is {elapsed!r}: expected a finite number of seconds, at least 0")
    epochs = record.get("epochs")
    if not isinstance(epochs, list) or len(epochs) > epoch:
        raise _broken(
            path, f"'epochs' is {type(epochs).__name__}: expected a list of at most {epoch} records"
        )
    for i, item in enumerate(epochs):
        if not isinstance(item, dict) or not all(_is_number(v) and math.isfinite(v) for v in item.values()):
            raise _broken(path, f"'epochs[{i}]' is {item!r:.80}: expected a record of finite numbers")


def _whole(path: Path, record: dict[str, Any], key: str, high: int) -> int:
    """``record[key]``, a whole number from 0 to ``high``."""
    value = record.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= high:
        raise _broken(path, f"{key!r} is {value!r:.80}: expected a whole number from 0 to {high}")
    return value


def _is_number(value: object) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _state_from(record: dict[str, Any], tensors: dict[str, torch.Tensor]) -> TrainState:
    adam: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith("adam."):
            _, index, name = key.split(".", 2)
            adam.setdefault(int(index), {})[name] = value
    return TrainState(
        epoch=int(record["epoch"]),
        net=_with_prefix(tensors, "net."),
        adam=adam,
        generator=tensors["generator"],
        rng=tensors["rng"],
        cuda_rng=tensors.get("cuda_rng"),
        best_net=_with_prefix(tensors, "best."),
        best_loss=float(record["best_loss"]),
        waited=int(record["waited"]),
        epochs=list(record["epochs"]),
        best_epoch=int(record["best_epoch"]),
        elapsed=float(record["elapsed"]),
    )


def _with_prefix(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}


def _broken(path: Path, reason: str) -> ModelFileError:
    return ModelFileError(
        f"the checkpoint at {str(path)!r} cannot be used: {reason}.",
        hint=f"delete it (rm -r {shlex.quote(str(path))}) and fit again without --resume",
    )
