"""Regenerate (``--write``) or check (``--check``) the demo samples in the docs from real runs.

A sample is the block between two markers in a Markdown file::

    <!-- demo-sample: --scenario fargate --seed 1 -->
    ```text
    ...the output of `python -m sim.demo --scenario fargate --seed 1`...
    ```
    <!-- /demo-sample -->

``--write`` runs the demo with the marker's arguments (in a fresh process, on the virtual
clock, so a seed always gives the same run) and puts its output between the markers.
It also redraws the pictures in :data:`PICTURES` (``--plot``).
``--check`` runs it the same way and fails, with a diff, when a sample differs. The wall
time a run took is the only figure that varies from run to run: it is written as measured
when a sample is regenerated, and ignored when comparing (a sample that differs only in it
is left alone). Samples are never edited by hand: after a change to the
simulator or the functions, run ``python -m tools.readme_samples --write``.
"""

from __future__ import annotations

import argparse
import difflib
import re
import shlex
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DEFAULT_FILES",
    "Sample",
    "check",
    "find_samples",
    "main",
    "normalise",
    "run_demo",
    "write",
    "write_pictures",
]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: The files whose samples are kept, relative to the project root.
DEFAULT_FILES = ("README.md", "docs/demo.md")

_BLOCK = re.compile(
    r"(?P<open><!-- demo-sample:(?P<args>[^>]*)-->\n)(?P<body>.*?)(?P<close><!-- /demo-sample -->)",
    re.DOTALL,
)
#: Pictures ``--write`` redraws (``python -m sim.demo ARGS --plot FILE``), relative to the
#: project root. They are regenerated, never compared: pixels differ between matplotlib and
#: font versions, and every figure drawn already comes from the same run as the samples.
PICTURES: dict[str, tuple[str, ...]] = {"docs/demo.png": ()}
#: Options that would make a sample depend on the wall clock or write elsewhere.
_REFUSED = ("--real-time", "--speed", "--output", "--plot", "--logs")
_WALL_TIME = (
    (re.compile(r"simulated in [0-9.]+ s of wall time"), "simulated in <wall> s of wall time"),
    (re.compile(r'"wall_seconds": [0-9.eE+-]+'), '"wall_seconds": <wall>'),
)

Runner = Callable[[Sequence[str]], str]


@dataclass(frozen=True, slots=True)
class Sample:
    """One marked block: where it is, the demo arguments, what it holds now."""

    path: Path
    args: tuple[str, ...]
    body: str
    start: int
    end: int


def normalise(text: str) -> str:
    """``text`` with the wall-clock figures masked (they differ on every run)."""
    for pattern, replacement in _WALL_TIME:
        text = pattern.sub(replacement, text)
    return text


def find_samples(path: Path) -> list[Sample]:
    """The marked samples of one Markdown file, in order."""
    text = path.read_text()
    samples = []
    for match in _BLOCK.finditer(text):
        args = tuple(shlex.split(match.group("args")))
        refused = [a for a in args if a.split("=", 1)[0] in _REFUSED]
        if refused:
            raise ValueError(f"{path}: a sample cannot use {', '.join(refused)}")
        samples.append(
            Sample(path, args, match.group("body"), match.start("body"), match.end("body"))
        )
    return samples


def run_demo(args: Sequence[str]) -> str:
    """The demo's output for ``args``, from a fresh ``python -m sim.demo`` process."""
    done = subprocess.run(
        [sys.executable, "-m", "sim.demo", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode not in (0, 1):  # 1: an invariant failed; the sample shows it
        raise RuntimeError(
            f"python -m sim.demo {shlex.join(args)} failed ({done.returncode}): "
            f"{done.stderr.strip()}"
        )
    return done.stdout


def _block(args: Sequence[str], output: str) -> str:
    fence = "json" if "--json" in args else "text"
    return f"```{fence}\n{output.rstrip()}\n```\n"


def _expected(samples: Sequence[Sample], runner: Runner) -> list[str]:
    outputs: dict[tuple[str, ...], str] = {}
    for sample in samples:
        if sample.args not in outputs:
            outputs[sample.args] = runner(sample.args)
    return [_block(sample.args, outputs[sample.args]) for sample in samples]


def _collect(paths: Sequence[Path]) -> list[Sample]:
    samples = [sample for path in paths for sample in find_samples(path)]
    if not samples:
        names = ", ".join(str(p) for p in paths)
        raise ValueError(f"no <!-- demo-sample: ... --> markers in {names}")
    return samples


def check(paths: Sequence[Path], runner: Runner = run_demo) -> list[str]:
    """Diffs of every sample that differs from a fresh run (empty: all up to date)."""
    samples = _collect(paths)
    problems = []
    for sample, expected in zip(samples, _expected(samples, runner), strict=True):
        if normalise(sample.body) != normalise(expected):
            diff = difflib.unified_diff(
                sample.body.splitlines(),
                expected.splitlines(),
                f"{sample.path} (demo-sample: {shlex.join(sample.args)})",
                "a fresh run",
                lineterm="",
            )
            problems.append("\n".join(diff))
    return problems


def write(paths: Sequence[Path], runner: Runner = run_demo) -> list[Path]:
    """Put a fresh run's output into every sample that differs; returns the files changed."""
    samples = _collect(paths)
    expected = _expected(samples, runner)
    changed = []
    for path in paths:
        text = path.read_text()
        mine = [(s, e) for s, e in zip(samples, expected, strict=True) if s.path == path]
        for sample, body in sorted(mine, key=lambda pair: pair[0].start, reverse=True):
            if normalise(sample.body) == normalise(body):
                continue  # up to date: keep it (no churn from the wall time alone)
            text = text[: sample.start] + body + text[sample.end :]
        if text != path.read_text():
            path.write_text(text)
            changed.append(path)
    return changed


def write_pictures(root: Path = PROJECT_ROOT, runner: Runner = run_demo) -> list[Path]:
    """Redraw every picture in :data:`PICTURES` under ``root``; returns their paths."""
    drawn = []
    for name, args in PICTURES.items():
        target = root / name
        runner([*args, "--plot", str(target)])
        if not target.is_file():
            raise RuntimeError(f"python -m sim.demo did not draw {target}")
        drawn.append(target)
    return drawn


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: ``--write`` regenerates the samples, ``--check`` (the default) compares them."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.readme_samples",
        description="Regenerate or check the demo samples in README.md and docs/demo.md.",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="regenerate the samples in place")
    mode.add_argument("--check", action="store_true", help="fail if a sample is out of date")
    parser.add_argument(
        "files",
        nargs="*",
        type=Path,
        help=f"Markdown files (default: {', '.join(DEFAULT_FILES)} in the project)",
    )
    args = parser.parse_args(argv)
    paths = args.files or [PROJECT_ROOT / name for name in DEFAULT_FILES]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        parser.error(f"no such file: {', '.join(missing)}")
    try:
        if args.write:
            for path in write(paths):
                print(f"updated {path}")
            if not args.files:
                for path in write_pictures():
                    print(f"drew {path}")
            return 0
        problems = check(paths)
    except (ValueError, RuntimeError) as error:
        print(f"python -m tools.readme_samples: error: {error}", file=sys.stderr)
        return 2
    if problems:
        print("\n\n".join(problems))
        print(
            f"\n{len(problems)} demo sample(s) out of date: "
            "run `python -m tools.readme_samples --write`",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
