"""The demo samples in README.md and docs/demo.md match a real run; the tool finds drift."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from tools import readme_samples
from tools.readme_samples import DEFAULT_FILES, PROJECT_ROOT, check, find_samples, normalise, write

_OUTPUTS: dict[tuple[str, ...], str] = {}


def _cached_run(args: Sequence[str]) -> str:
    """One real run per argument list for the whole module (each takes seconds)."""
    key = tuple(args)
    if key not in _OUTPUTS:
        _OUTPUTS[key] = readme_samples.run_demo(args)
    return _OUTPUTS[key]


@pytest.fixture
def copies(tmp_path: Path) -> list[Path]:
    """The documented files, copied so a test may tamper with them."""
    paths = []
    for name in DEFAULT_FILES:
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(PROJECT_ROOT / name, target)
        paths.append(target)
    return paths


def test_given_the_project_docs_when_checked_then_every_sample_matches_a_fresh_run() -> None:
    paths = [PROJECT_ROOT / name for name in DEFAULT_FILES]

    problems = check(paths, runner=_cached_run)

    assert problems == [], (
        "demo samples are out of date; run `python -m tools.readme_samples --write`:\n"
        + "\n\n".join(problems)
    )
    assert all(find_samples(path) for path in paths), "each file keeps at least one sample"


def test_given_a_tampered_sample_when_checked_then_it_fails_and_write_repairs_it(
    copies: list[Path],
) -> None:
    readme = copies[0]
    text = readme.read_text()
    tampered = text.replace("  stopped early          ", "  stopped early          9", 1)
    assert tampered != text
    readme.write_text(tampered)

    problems = check(copies, runner=_cached_run)

    assert len(problems) == 1
    assert str(readme) in problems[0]
    assert "-  stopped early          9" in problems[0]
    assert write(copies, runner=_cached_run) == [readme]
    assert check(copies, runner=_cached_run) == []
    assert normalise(readme.read_text()) == normalise(text)


def test_given_only_the_wall_time_differs_when_checked_then_it_passes(copies: list[Path]) -> None:
    readme = copies[0]
    text = readme.read_text()
    assert "s of wall time)" in text
    readme.write_text(
        normalise(text).replace(
            "simulated in <wall> s of wall time", "simulated in 99.9 s of wall time"
        )
    )

    assert check(copies, runner=_cached_run) == []


def test_given_a_sample_outside_its_markers_when_written_then_the_rest_is_untouched(
    tmp_path: Path,
) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(
        "# Title\n\nbefore\n\n<!-- demo-sample: --scenario scale-in -->\nstale\n"
        "<!-- /demo-sample -->\n\nafter\n"
    )
    calls: list[tuple[str, ...]] = []

    def runner(args: Sequence[str]) -> str:
        calls.append(tuple(args))
        return "line one\nResult: OK (simulated in 1.0 s of wall time)\n"

    write([doc], runner=runner)

    assert calls == [("--scenario", "scale-in")]
    assert doc.read_text() == (
        "# Title\n\nbefore\n\n<!-- demo-sample: --scenario scale-in -->\n```text\nline one\n"
        "Result: OK (simulated in 1.0 s of wall time)\n```\n<!-- /demo-sample -->\n\nafter\n"
    )


def test_given_no_markers_when_checked_then_an_error_not_a_silent_pass(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text("# nothing here\n")

    with pytest.raises(ValueError, match="no <!-- demo-sample"):
        check([doc], runner=_cached_run)
    assert readme_samples.main(["--check", str(doc)]) == 2


def test_given_a_wall_clock_option_in_a_marker_when_read_then_refused(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text("<!-- demo-sample: --real-time -->\n<!-- /demo-sample -->\n")

    with pytest.raises(ValueError, match="cannot use --real-time"):
        find_samples(doc)


def test_given_the_command_when_a_file_differs_then_exit_1_with_the_fix_named(
    copies: list[Path],
) -> None:
    docs = copies[1]
    docs.write_text(
        docs.read_text().replace("tasks drained          4", "tasks drained          5")
    )

    done = subprocess.run(
        [sys.executable, "-m", "tools.readme_samples", "--check", str(docs)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 1
    assert "+  tasks drained          4" in done.stdout
    assert "python -m tools.readme_samples --write" in done.stderr


def test_given_write_when_pictures_are_drawn_then_each_comes_from_a_plot_run(
    tmp_path: Path,
) -> None:
    calls: list[list[str]] = []

    def runner(args: Sequence[str]) -> str:
        calls.append(list(args))
        Path(args[args.index("--plot") + 1]).write_bytes(b"\x89PNG")
        return ""

    (tmp_path / "docs").mkdir()
    drawn = readme_samples.write_pictures(tmp_path, runner=runner)

    assert drawn == [tmp_path / name for name in readme_samples.PICTURES]
    assert calls == [[*args, "--plot", str(tmp_path / name)]
                     for name, args in readme_samples.PICTURES.items()]  # fmt: skip


def test_given_the_project_when_checked_then_the_documented_picture_exists() -> None:
    for name in readme_samples.PICTURES:
        assert (PROJECT_ROOT / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
