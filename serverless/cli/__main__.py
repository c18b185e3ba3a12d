"""``python -m serverless.cli``."""

from __future__ import annotations

import sys

from serverless.cli import main

__all__ = ["main"]

sys.exit(main())
