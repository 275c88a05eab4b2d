"""Transform speed and memory: streaming transform vs plain Parquet read + write, peak RSS by size.

In one run, on generated float32 Parquet files (``--rows`` x ``--width``, and a quarter of it):

- rows/s of ``aefeatures transform`` (streaming, file to file) vs reading + writing the same
  file with pyarrow (same reader, writer settings and batch size) and vs reading alone;
- the read + GEMM bound: reading time plus the forward-pass FLOPs (2 x weights per row) at
  the measured fp32 GEMM rate of the same shapes; transform as a share of it;
- peak resident memory (``VmHWM`` of a fresh process each) of the streaming transform on
  both file sizes, of ``lf.pipe(model.transform).sink_parquet``, and of the eager path
  (read everything, transform, write), beside a process that only imports and loads the model.

Run::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/transform.py --threads 1
    .venv/bin/python benchmarks/transform.py --size-gb 5 --skip-eager   # the 5 GB memory check
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch

HERE = Path(__file__).resolve()
MODES = ("baseline", "streaming", "lazy", "eager")


def write_file(path: Path, rows: int, width: int, seed: int = 0, chunk: int = 131_072) -> None:
    """Low-rank float32 data written chunk by chunk (the generator's memory stays small)."""
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(8, width))
    schema = pa.schema([(f"c{i}", pa.float32()) for i in range(width)])
    with pq.ParquetWriter(path, schema, compression="zstd", use_dictionary=False) as writer:
        for begin in range(0, rows, chunk):
            n = min(chunk, rows - begin)
            values = (
                np.tanh(rng.normal(size=(n, 8)) @ mixing / 3) + 0.1 * rng.normal(size=(n, width))
            ).astype(np.float32)
            writer.write_table(pa.Table.from_arrays(list(values.T), schema=schema))


def read_write(source: Path, target: Path | None, batch_rows: int, compression: str = "snappy") -> float:
    """Seconds to stream ``source`` through pyarrow (and write it to ``target`` when given)."""
    started = time.perf_counter()
    parquet = pq.ParquetFile(source, pre_buffer=False)
    writer = (
        pq.ParquetWriter(target, parquet.schema_arrow, compression=compression, use_dictionary=False)
        if target
        else None
    )
    for batch in parquet.iter_batches(batch_size=batch_rows):
        if writer is not None:
            writer.write_batch(batch)
    if writer is not None:
        writer.close()
    return time.perf_counter() - started


def forward_gemm_rate(shapes: list[tuple[int, int]], batch: int = 8192, seconds: float = 1.5) -> float:
    mats = [(torch.randn(batch, a), torch.randn(a, b)) for a, b in shapes]
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for x, w in mats:
            x @ w
        count += 1
    return sum(2 * batch * a * b for a, b in shapes) * count / (time.perf_counter() - started)


def child(mode: str, model_dir: str, source: str, output: str, batch_rows: int) -> None:
    """Run one mode in this (fresh) process and print its peak RSS in MB."""
    import polars as pl

    import aefeatures as aef
    from aefeatures.transform.streaming import transform_path

    model = aef.load(model_dir, device="cpu")
    started = time.perf_counter()
    if mode == "streaming":
        transform_path(model, source, output, batch_rows=batch_rows)
    elif mode == "lazy":
        pl.scan_parquet(source).pipe(model.transform).sink_parquet(output)
    elif mode == "eager":
        model.transform(pl.read_parquet(source)).write_parquet(output)
    seconds = time.perf_counter() - started
    print(json.dumps({"peak_rss_mb": peak_rss_mb(), "seconds": seconds}))


def peak_rss_mb() -> float:
    """This process's peak RSS: VmHWM belongs to the address space, so it restarts at exec
    (``ru_maxrss`` would carry over the parent's peak from before the fork)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(
    mode: str, model_dir: Path, source: Path, work: Path, batch_rows: int, threads: int
) -> dict[str, float]:
    output = work / f"{mode}-{source.stem}.parquet"
    done = subprocess.run(
        [
            sys.executable,
            str(HERE),
            "--child",
            mode,
            str(model_dir),
            str(source),
            str(output),
            str(batch_rows),
        ],
        capture_output=True,
        text=True,
        check=True,
        env={"OMP_NUM_THREADS": str(threads), "PATH": ""},
    )
    output.unlink(missing_ok=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--size-gb", type=float, help="size the big file in GB instead of --rows")
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--batch-rows", type=int, default=65_536)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument(
        "--compression", default="snappy", help="output codec of transform and of the read+write baseline"
    )
    parser.add_argument(
        "--skip-eager", action="store_true", help="do not run the read-everything path (big files)"
    )
    parser.add_argument(
        "--dir", type=Path, help="where to write the generated files [default: a temporary directory]"
    )
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        torch.set_num_threads(int(__import__("os").environ.get("OMP_NUM_THREADS", "1")))
        mode, model_dir, source, output, batch_rows = args.child
        child(mode, model_dir, source, output, int(batch_rows))
        return
    torch.set_num_threads(args.threads)
    rows = int(args.size_gb * 1e9 / (4 * args.width)) if args.size_gb else args.rows
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        print(
            json.dumps(run(Path(folder), rows, args), indent=1)
            if args.json
            else _table(run(Path(folder), rows, args))
        )


def run(work: Path, rows: int, args: argparse.Namespace) -> dict[str, Any]:
    import aefeatures as aef
    from aefeatures.transform.streaming import transform_path

    big, small = work / "big.parquet", work / "small.parquet"
    write_file(big, rows, args.width)
    write_file(small, rows // 4, args.width)
    model = aef.fit(big, max_rows=20_000, hidden=(128,), latent_dim=32, epochs=2, threads=args.threads)
    model_dir = model.save(work / "model")
    shapes = [(args.width, 128), (128, 32), (32, 128), (128, args.width)]
    weights = sum(a * b for a, b in shapes)
    read = read_write(big, None, args.batch_rows)
    copy = read_write(big, work / "copy.parquet", args.batch_rows, args.compression)
    started = time.perf_counter()
    transform_path(model, big, work / "out.parquet", batch_rows=args.batch_rows, compression=args.compression)
    transform = time.perf_counter() - started
    gemm = forward_gemm_rate(shapes)
    bound = read + rows * 2 * weights / gemm
    bound_with_write = copy + rows * 2 * weights / gemm
    result: dict[str, Any] = {
        "rows": rows,
        "width": args.width,
        "file_mb": big.stat().st_size / 1e6,
        "threads": args.threads,
        "read_rows_per_s": rows / read,
        "read_write_rows_per_s": rows / copy,
        "transform_rows_per_s": rows / transform,
        "transform_vs_read_write": copy / transform,
        "forward_gemm_gflops": gemm / 1e9,
        "read_gemm_bound_rows_per_s": rows / bound,
        "transform_share_of_read_gemm_bound": bound / transform,
        "compression": args.compression,
        "transform_share_of_read_write_gemm_bound": bound_with_write / transform,
    }
    (work / "copy.parquet").unlink()
    (work / "out.parquet").unlink()
    memory = {"baseline": measure("baseline", model_dir, small, work, args.batch_rows, args.threads)}
    for source in (small, big):
        memory[f"streaming_{source.stem}"] = measure(
            "streaming", model_dir, source, work, args.batch_rows, args.threads
        )
        memory[f"lazy_{source.stem}"] = measure(
            "lazy", model_dir, source, work, args.batch_rows, args.threads
        )
        if not args.skip_eager:
            memory[f"eager_{source.stem}"] = measure(
                "eager", model_dir, source, work, args.batch_rows, args.threads
            )
    result["memory"] = memory
    result["small_file_mb"] = small.stat().st_size / 1e6
    return result


def _table(r: dict[str, Any]) -> str:
    lines = [
        f"transform: {r['rows']:,} rows x {r['width']} float32 ({r['file_mb']:.0f} MB zstd), "
        f"{r['threads']} thread(s)",
        f"  read {r['read_rows_per_s']:,.0f} rows/s | read+write {r['read_write_rows_per_s']:,.0f} rows/s | "
        f"transform {r['transform_rows_per_s']:,.0f} rows/s = {r['transform_vs_read_write']:.2f}x read+write",
        f"  forward GEMM {r['forward_gemm_gflops']:.1f} GFLOP/s -> read+GEMM bound "
        f"{r['read_gemm_bound_rows_per_s']:,.0f} rows/s; "
        f"transform reaches {r['transform_share_of_read_gemm_bound']:.0%}; "
        f"of the read+write+GEMM bound ({r['compression']} output): "
        f"{r['transform_share_of_read_write_gemm_bound']:.0%}",
        f"  peak RSS, fresh process each (small file {r['small_file_mb']:.0f} MB, "
        f"big file {r['file_mb']:.0f} MB):",
    ]
    for name, value in r["memory"].items():
        lines.append(f"    {name:<18} {value['peak_rss_mb']:8.0f} MB  {value['seconds']:6.1f} s")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
