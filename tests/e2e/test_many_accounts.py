"""tools/e2e/many_accounts.py (``make e2e-accounts``): where Terraform is absent it says so in
one line and succeeds; its member accounts are distinct from each other and valid ids."""

from __future__ import annotations

import re

import pytest

from tools.e2e import many_accounts
from tools.e2e.terraform import Missing


def test_given_no_terraform_when_run_then_it_skips_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def missing() -> None:
        raise Missing("terraform is not on PATH (or set DRAIN_TERMINATOR_TERRAFORM)")

    monkeypatch.setattr(many_accounts, "find_terraform", missing)

    assert many_accounts.main() == 0
    assert capsys.readouterr().out.splitlines() == [
        "e2e-accounts: skipped: terraform is not on PATH (or set DRAIN_TERMINATOR_TERRAFORM)"
    ]


def test_given_the_members_when_read_then_they_are_two_distinct_account_ids() -> None:
    assert len(many_accounts.MEMBERS) == 2
    assert all(re.fullmatch(r"[0-9]{12}", account) for account in many_accounts.MEMBERS)
