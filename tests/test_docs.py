"""Every shell and Python block of README.md and docs/ runs as written, so a doc cannot rot.

The fenced ``bash`` and ``python`` blocks of each page run in order, in one fresh directory per
page that holds the files the page names (``data.parquet`` with an ``id`` and a ``label``,
``new_day.parquet``, ``landing/``, ``customers.parquet``, a copy of ``schemas/``, a fitted
``models/customers``), generated here from the demo table at a few hundred rows. Python blocks
run in a subprocess of this interpreter; shell blocks run in bash with ``aefeatures`` and
``python`` resolved to this venv's. A block that cannot run here (a Spark cluster, several
processes or a server) says so in an HTML comment on the line before it,
``<!-- not-run: why -->``; they are listed in :data:`NOT_RUN`, so a new one is a decision. The
README's polars quick start runs twice, as a user reruns it (:data:`TWICE`).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

import aefeatures as aef
from aefeatures.explore.demo import make_customers
from tests.helpers import REPO, subprocess_env

pytestmark = pytest.mark.slow

PAGES = ["README.md", *sorted(p.relative_to(REPO).as_posix() for p in (REPO / "docs").glob("*.md"))]
LANGUAGES = {"bash": "shell", "sh": "shell", "python": "python"}
NOT_RUN_MARK = re.compile(r"<!--\s*not-run:\s*(.+?)\s*-->")
ROWS = 300

# (page, first line of the block): the blocks that cannot run in a test, each marked in its page.
NOT_RUN = {
    (
        "README.md",
        "make demo    # install the core, generate a mixed-type dataset with planted anomalies, fit, transform, score",
    ),
    (
        "README.md",
        "pip install -e '.[sklearn]'   # or [onnx], [mlflow], [spark], [pandas], [examples] (Dagster and its UI)",
    ),
    (
        "README.md",
        "torchrun --standalone --nproc-per-node 4 -m aefeatures.distributed data/ models/events \\",
    ),
    (
        "docs/distributed.md",
        "torchrun --standalone --nproc-per-node 4 -m aefeatures.distributed data/ models/events \\",
    ),
    ("docs/distributed.md", "from pyspark.ml.torch.distributor import TorchDistributor"),
    ("docs/etl.md", 'pip install -e ".[examples]"'),
    ("docs/spark.md", "from aefeatures import spark as aes"),
    ("docs/spark.md", "spark-submit --master yarn --deploy-mode client \\"),
    ("docs/spark.md", "import ray"),
}


# Blocks run twice in a row, as a user reruns them: the README's polars quick start saves a model.
TWICE = {("README.md", "from pathlib import Path")}


@dataclass(frozen=True)
class Block:
    page: str
    line: int  # of the opening fence, 1-based
    language: str  # "shell" or "python"
    code: str
    not_run: str | None  # the reason, when marked

    @property
    def first_line(self) -> str:
        return self.code.splitlines()[0]


def blocks(page: str) -> list[Block]:
    """The bash and Python blocks of ``page``, with their not-run reasons."""
    found, lines = [], (REPO / page).read_text().splitlines()
    index = 0
    while index < len(lines):
        opening = re.fullmatch(r"```(\w*)\s*", lines[index])
        if opening is None:
            index += 1
            continue
        end = next(i for i in range(index + 1, len(lines)) if lines[i].startswith("```"))
        previous = next((lines[i] for i in range(index - 1, -1, -1) if lines[i].strip()), "")
        mark = NOT_RUN_MARK.search(previous)
        language = LANGUAGES.get(opening.group(1))
        if language is not None:
            code = "\n".join(lines[index + 1 : end]) + "\n"
            found.append(Block(page, index + 1, language, code, mark.group(1) if mark else None))
        index = end + 1
    return found


def labelled(rows: int, seed: int, label: str = "label") -> pl.DataFrame:
    """The demo table with an ``id`` and a label column named as the pages name them; the first
    seed from ``seed`` whose rows hold a few planted anomalies (``compare --label`` needs both classes)."""
    while make_customers(rows=rows, seed=seed)["is_anomaly"].sum() < 3:
        seed += 1
    return make_customers(rows=rows, seed=seed).rename({"customer_id": "id", "is_anomaly": label})


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the pages' commands read, and one model fitted on it (models/customers) to share."""
    root = tmp_path_factory.mktemp("docs-base")
    data = labelled(ROWS, seed=0)
    data.write_parquet(root / "data.parquet")
    labelled(ROWS // 2, seed=1).drop("label").write_parquet(root / "new_day.parquet")
    data.write_parquet(root / "day.parquet")
    for landing in ("landing/2025-01-07", "landing/date=2025-01-07"):
        (root / landing).mkdir(parents=True)
        data.head(ROWS // 2).write_parquet(root / landing / "part-0.parquet")
        data.tail(ROWS // 2).write_parquet(root / landing / "part-1.parquet")
    labelled(ROWS, seed=0, label="is_anomaly").rename({"id": "customer_id"}).write_parquet(
        root / "customers.parquet"
    )
    shutil.copytree(REPO / "schemas", root / "schemas")
    (root / "models").mkdir()
    aef.fit(root / "data.parquet", exclude=["id", "label"], epochs=20, threads=1).save(
        root / "models/customers"
    )
    bin_dir = root.parent / "docs-bin"
    bin_dir.mkdir()
    shim = bin_dir / "aefeatures"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m aefeatures "$@"\n')
    shim.chmod(0o755)
    return root


def run_block(block: Block, where: Path) -> subprocess.CompletedProcess[str]:
    """Run ``block`` in ``where``: Python with this interpreter, shell in bash with this venv first."""
    env = subprocess_env()
    shims = where.parent.parent / "docs-bin"  # beside the pages' directories (see base)
    env["PATH"] = f"{shims}:{Path(sys.executable).parent}:{env.get('PATH', '')}"
    script = where / f"block-{block.line}.{'py' if block.language == 'python' else 'sh'}"
    script.write_text(block.code)
    command = (
        [sys.executable, script.name]
        if block.language == "python"
        else ["bash", "-eo", "pipefail", script.name]
    )
    return subprocess.run(command, cwd=where, env=env, capture_output=True, text=True, timeout=900)


def page_dir(base: Path, page: str) -> Path:
    """A fresh copy of ``base`` for ``page`` (the pages may write the same paths)."""
    where = base.parent / "pages" / page.replace("/", "-")
    shutil.copytree(base, where)
    if page == "docs/kinds.md":  # its examples score a fraud label
        labelled(ROWS, seed=0, label="is_fraud").write_parquet(where / "data.parquet")
    return where


def test_blocks_that_cannot_run_here_are_marked_and_listed() -> None:
    marked = {(b.page, b.first_line): b.not_run for page in PAGES for b in blocks(page) if b.not_run}
    assert set(marked) == NOT_RUN, sorted(set(marked) ^ NOT_RUN)
    assert all(len(reason) > 10 for reason in marked.values()), marked
    runnable = sum(1 for page in PAGES for b in blocks(page) if not b.not_run)
    assert all(
        (b.page, b.first_line) in TWICE
        for page in ["README.md"]
        for b in blocks(page)
        if b.language == "python"
    )
    print(f"\n{runnable} doc blocks run; {len(marked)} cannot run here:")
    for (page, first), reason in sorted(marked.items()):
        print(f"  {page}: {first[:60]!r}: {reason}")
    assert runnable >= 10


@pytest.mark.parametrize("page", [p for p in PAGES if any(not b.not_run for b in blocks(p))])
def test_every_block_of_the_page_runs_as_written(page: str, base: Path) -> None:
    where = page_dir(base, page)
    for block in blocks(page):
        if block.not_run:
            continue
        for _ in range(2 if (page, block.first_line) in TWICE else 1):
            done = run_block(block, where)
            assert done.returncode == 0, (
                f"{page}:{block.line} ({block.language}) failed with exit code {done.returncode}:\n"
                f"{block.code}\n--- stdout ---\n{done.stdout[-2000:]}\n--- stderr ---\n{done.stderr[-3000:]}"
            )
