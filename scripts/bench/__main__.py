"""Entry point: `.venv/bin/python scripts/bench ...` or, from the repository root, `python -m scripts.bench ...`."""

import sys
from pathlib import Path

# Run as `python scripts/bench`, this file has no package: make `scripts.bench` importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from scripts.bench.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
