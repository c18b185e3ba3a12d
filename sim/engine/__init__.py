"""The simulation engine: the virtual-time event loop, parallel calls on it, the witness log,
and the capture of what the handlers print. Imports nothing else from the simulator."""

from __future__ import annotations

__all__: list[str] = []
