"""`python -m aiplane.docs --write | --check [--project-dir DIR]`: regenerate, or list, stale generated files."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from aiplane.docs import GENERATED
from aiplane.files import write_text_atomic


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aiplane.docs", description=__doc__)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="rewrite every stale generated file")
    mode.add_argument("--check", action="store_true", help="list stale generated files; exit 1 if any")
    parser.add_argument("--project-dir", type=Path, default=Path(__file__).resolve().parents[2])
    options = parser.parse_args(argv)
    stale = [entry for entry in GENERATED if not entry.is_current(options.project_dir)]
    for entry in stale:
        if options.write:
            write_text_atomic(options.project_dir / entry.path, entry.expected(options.project_dir))
            print(f"Wrote {entry.path}")
        else:
            print(f"{entry.path}: stale; run `make docs`")
    return 1 if stale and options.check else 0


if __name__ == "__main__":
    sys.exit(main())
