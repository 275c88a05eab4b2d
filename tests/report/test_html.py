"""report.html: written by save, rebuilt by ``aefeatures report``, drawn by headless Chromium."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import aefeatures as aef
from aefeatures.cli import main
from aefeatures.model.manifest import MANIFEST, SCHEMA, read_manifest
from aefeatures.model.summary import PROJECTION_ROWS
from aefeatures.report.html import REPORT, render_report
from tests.helpers import make_mixed, run_cli

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
PLOTS = ["loss", "errors", "features", "embedding", "drift"]
# Runs after layout and reports what the browser actually drew, into a data attribute --dump-dom shows.
PROBE = """<script>
window.addEventListener("load", () => {
  const plots = [...document.querySelectorAll("svg.plot")].map((svg) => {
    const box = svg.getBoundingClientRect();
    const inside = (el) => { const b = el.getBoundingClientRect();
      return b.left >= box.left - 1 && b.right <= box.right + 1
        && b.top >= box.top - 1 && b.bottom <= box.bottom + 1; };
    const circles = [...svg.querySelectorAll("circle.point")];
    return {name: svg.dataset.plot, width: box.width, height: box.height,
      paths: [...svg.querySelectorAll("path.series")].map((p) => p.getTotalLength()),
      bars: [...svg.querySelectorAll("rect.bar")]
        .filter((r) => r.getBBox().width > 0 && r.getBBox().height > 0).length,
      points: circles.length, pointsInside: circles.filter(inside).length};
  });
  document.body.dataset.probe = JSON.stringify(plots);
});
</script>"""


@pytest.fixture(scope="module")
def page(fitted_model_dir: Path) -> str:
    return (fitted_model_dir / REPORT).read_text(encoding="utf-8")


def test_save_writes_a_self_contained_report_outside_the_checksums(fitted_model_dir: Path, page: str) -> None:
    manifest = read_manifest(fitted_model_dir)  # report.html does not disturb the checked files
    assert REPORT not in manifest["files"]
    assert list(dict.fromkeys(re.findall(r'data-plot="(\w+)"', page))) == PLOTS
    for fetching in (
        "http:",
        "https:",
        "//",
        "<script",
        "<link",
        "<img",
        "<iframe",
        "src=",
        "url(",
        "@import",
    ):
        assert fetching not in page, f"the report must not fetch anything, found {fetching!r}"
    for column in aef.load(fitted_model_dir, device="cpu").columns:
        assert f"<td>{column}</td>" in page
    assert f"threshold {float(manifest['calibration']['threshold']):.3g}" in page
    assert html.escape((fitted_model_dir / SCHEMA).read_text()) in page


def test_stored_summaries_match_the_training_rows(fitted_model_dir: Path) -> None:
    manifest = read_manifest(fitted_model_dir)
    summary = manifest["report"]
    model = aef.load(fitted_model_dir, device="cpu")
    frame = make_mixed()
    out = model.transform(frame, per_feature_errors=True)
    errors = out["ae_error"].to_numpy()

    histogram = summary["error_histogram"]
    edges = np.asarray(histogram["edges"])
    assert len(edges) == len(histogram["counts"]) + 1 and sum(histogram["counts"]) == frame.height
    expected, _ = np.histogram(np.clip(errors, 0.0, edges[-1]), edges)
    assert np.abs(expected - np.asarray(histogram["counts"])).sum() <= 2  # edges are rounded to 5 digits
    assert abs(histogram["above_range"] - int((errors > edges[-1] * (1 + 1e-4)).sum())) <= 1  # rounded edge
    assert edges[-1] > model.threshold  # the threshold line is always on the plot

    assert list(summary["feature_errors"]) == model.columns
    for column, mean in summary["feature_errors"].items():
        assert mean == pytest.approx(out[f"ae_error__{column}"].mean(), rel=1e-3, abs=1e-6)

    projection = summary["projection"]
    assert (
        len(projection["x"])
        == len(projection["y"])
        == len(projection["flagged"])
        == min(frame.height, PROJECTION_ROWS)
    )
    assert np.std(projection["x"]) >= np.std(projection["y"]) > 0  # first principal component first


def test_report_command_rebuilds_the_same_page(model_copy: Path, page: str) -> None:
    (model_copy / REPORT).unlink()
    result = run_cli("report", str(model_copy), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["report"] == str(model_copy / REPORT)
    assert (model_copy / REPORT).read_text(encoding="utf-8") == page


def test_report_output_elsewhere_is_never_overwritten_silently(
    fitted_model_dir: Path, page: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    elsewhere = tmp_path / "elsewhere.html"
    assert main(["report", str(fitted_model_dir), "--output", str(elsewhere)]) == 0
    assert elsewhere.read_text(encoding="utf-8") == page
    elsewhere.write_text("kept")
    assert main(["report", str(fitted_model_dir), "--output", str(elsewhere)]) == 1
    assert "already exists" in capsys.readouterr().err and elsewhere.read_text() == "kept"
    # --overwrite replaces an earlier report only, never a file of the user's.
    assert main(["report", str(fitted_model_dir), "--output", str(elsewhere), "--overwrite"]) == 1
    assert "aefeatures did not write this file" in capsys.readouterr().err and elsewhere.read_text() == "kept"
    elsewhere.write_text(page, encoding="utf-8")  # an earlier report
    assert main(["report", str(fitted_model_dir), "--output", str(elsewhere), "--overwrite"]) == 0
    assert elsewhere.read_text(encoding="utf-8") == page


def test_report_command_refuses_a_directory_that_is_not_a_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(tmp_path)]) == 1
    message = capsys.readouterr().err
    assert "not a model directory" in message and MANIFEST in message
    assert not (tmp_path / REPORT).exists()


def test_report_command_refuses_an_edited_model(model_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (model_copy / SCHEMA).write_text((model_copy / SCHEMA).read_text() + "\n# edited\n")
    (model_copy / REPORT).unlink()
    assert main(["report", str(model_copy)]) == 1
    assert "checksum" in capsys.readouterr().err
    assert not (model_copy / REPORT).exists()


def test_a_manifest_without_summaries_still_renders_what_it_has(fitted_model_dir: Path) -> None:
    manifest = read_manifest(fitted_model_dir)
    del manifest["report"]
    older = render_report(manifest, (fitted_model_dir / SCHEMA).read_text())
    assert [p for p in re.findall(r'data-plot="(\w+)"', older) if p != "drift"] == ["loss"]
    assert older.count("re-fit to see it") == 5  # plots, the outlying rows, the validation rows' ae_error
    assert "<th>mean ae_error of the validation rows</th><td>not stored" in older


@pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),  # in CI a missing browser fails the test instead
    reason="chromium is not installed (scripts/system-deps.sh installs it as root)",
)
def test_headless_chromium_draws_every_plot(fitted_model_dir: Path, page: str, tmp_path: Path) -> None:
    assert CHROMIUM is not None, (
        "CI needs chromium: scripts/system-deps.sh installs it (run by make test as root)"
    )
    probed = tmp_path / "probed.html"
    probed.write_text(page.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = _chromium(tmp_path, "--dump-dom", probed).stdout
    found = re.search(r'data-probe="([^"]*)"', dom)
    assert found, f"the page did not finish rendering: {dom[:500]}"
    plots: dict[str, dict[str, Any]] = {p["name"]: p for p in json.loads(html.unescape(found.group(1)))}
    assert list(plots) == PLOTS
    for plot in plots.values():
        assert plot["width"] > 400 and plot["height"] > 150, plot
    assert (
        len(plots["loss"]["paths"]) == 2 and min(plots["loss"]["paths"]) > 200
    )  # training and validation lines
    assert plots["errors"]["bars"] >= 10
    assert plots["features"]["bars"] == len(aef.load(fitted_model_dir, device="cpu").columns)
    assert plots["embedding"]["points"] == plots["embedding"]["pointsInside"] == PROJECTION_ROWS

    shot = tmp_path / "report.png"
    _chromium(tmp_path, f"--screenshot={shot}", fitted_model_dir / REPORT)
    pixels = _read_png(shot)
    assert pixels.shape[0] >= 1500 and pixels.shape[1] == 1000
    dark = (pixels.min(axis=2) < 128).mean()
    blue = (np.abs(pixels.astype(int) - [31, 119, 180]).sum(axis=2) < 30).mean()
    red = (np.abs(pixels.astype(int) - [214, 39, 40]).sum(axis=2) < 30).mean()
    assert 0.002 < dark < 0.5, f"text and axes should be visible: {dark:.4f} of pixels are dark"
    assert blue > 0.005 and red > 0.0001, f"bars/points should be drawn: blue {blue:.4f}, red {red:.5f}"


def _chromium(tmp_path: Path, action: str, page: Path) -> subprocess.CompletedProcess[str]:
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--hide-scrollbars",
    ]
    flags += ["--disable-background-networking", "--disable-component-update", "--disable-sync"]
    command = [
        str(CHROMIUM),
        *flags,
        f"--user-data-dir={tmp_path / 'chromium'}",
        "--window-size=1000,2400",
        action,
    ]
    result = subprocess.run([*command, page.resolve().as_uri()], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def _read_png(path: Path) -> np.ndarray:
    """Pixels (height, width, 3) of an 8-bit RGB/RGBA non-interlaced PNG, as Chromium writes them."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks: dict[bytes, bytes] = {}
    offset = 8
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset : offset + 8])
        chunks[kind] = chunks.get(kind, b"") + data[offset + 8 : offset + 8 + length]
        offset += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert depth == 8 and colour in (2, 6) and interlace == 0
    channels = 3 if colour == 2 else 4
    raw = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8).reshape(height, 1 + width * channels)
    rows = np.zeros((height, width * channels), np.int32)
    for y in range(height):
        rows[y] = _unfilter(
            raw[y, 0], raw[y, 1:].astype(np.int32), rows[y - 1] if y else np.zeros_like(rows[0]), channels
        )
    return rows.reshape(height, width, channels)[:, :, :3].astype(np.uint8)


def _unfilter(kind: int, line: np.ndarray, above: np.ndarray, bpp: int) -> np.ndarray:
    if kind == 0:
        return line
    if kind == 2:
        return (line + above) % 256
    out = line.copy()
    for x in range(len(line)):  # Sub, Average and Paeth depend on the pixel to the left
        left = out[x - bpp] if x >= bpp else 0
        up_left = above[x - bpp] if x >= bpp else 0
        if kind == 1:
            out[x] = (line[x] + left) % 256
        elif kind == 3:
            out[x] = (line[x] + (left + above[x]) // 2) % 256
        else:
            p = left + above[x] - up_left
            pa, pb, pc = abs(p - left), abs(p - above[x]), abs(p - up_left)
            predictor = left if pa <= pb and pa <= pc else above[x] if pb <= pc else up_left
            out[x] = (line[x] + predictor) % 256
    return out


def test_report_lists_the_most_outlying_training_rows_with_expected_values(
    fitted_model_dir: Path, page: str
) -> None:
    stored = read_manifest(fitted_model_dir)["report"]["outlying_rows"]
    model = aef.load(fitted_model_dir)
    errors = [row["error"] for row in stored]
    assert len(stored) == 10 and errors == sorted(errors, reverse=True)
    assert errors[0] >= float(f"{model.threshold:.4g}")  # the top rows are above the threshold
    for row in stored:
        assert len(row["columns"]) == 3 and {c["column"] for c in row["columns"]} <= set(model.columns)
        column_errors = [c["error"] for c in row["columns"]]
        assert column_errors == sorted(column_errors, reverse=True)
    assert "Most outlying training rows" in page
    first = stored[0]["columns"][0]
    assert f"<td>{html.escape(first['column'])}</td>" in page


def test_report_shows_the_training_distributions_drift_is_tested_against(
    fitted_model_dir: Path, page: str
) -> None:
    manifest = read_manifest(fitted_model_dir)
    section = page.split("Training distributions that drift is tested against")[1].split("<h2>")[0]
    # the validation rows' ae_error, then one chart per feature column (7), each titled by its column
    assert section.count('data-plot="drift"') == 8
    for name in ("x", "y", "count", "income", "seen"):
        assert f"{name}: training distribution" in section
    assert "segment: training share of each level" in section and "active: training share" in section
    assert f"Statistics of {manifest['drift']['rows']} training rows" in section
    assert ">gold<" in section and ">(unseen)<" in section and "12.0%" in section  # income's missing rate
    older = dict(manifest, drift={"columns": {"x": {"missing_rate": 0.0, "low": 0.0, "high": 1.0}}})
    assert "Re-fit to get the statistical tests" in render_report(older, "")


@pytest.mark.parametrize("last", [0.05, 0.5, 0.9])
def test_log_loss_axis_has_several_labelled_ticks(last: float) -> None:
    """A loss falling from 1.2 to 0.05 (about one decade on a log axis) is read off more than one tick."""
    from aefeatures.report.svgplot import line_chart

    losses = list(np.geomspace(1.2, last, 30))
    svg = line_chart(
        {"training rows": (list(range(30)), losses)}, title="t", x_label="epoch", y_label="loss", log_y=True
    )
    labels = [float(v) for v in re.findall(r'text-anchor="end">([0-9.e+-]+)</text>', svg)]
    assert len(labels) >= 2 and labels == sorted(labels) and len(set(labels)) == len(labels), labels
    assert all(0.9 * last <= v <= 1.2 / 0.9 for v in labels), labels
