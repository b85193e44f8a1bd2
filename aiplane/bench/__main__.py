"""`python -m aiplane.bench [--strict] [--only synthesis|scale] [--rounds N] [--tenants 0,50,200,400]`."""
from __future__ import annotations

import argparse

from aiplane.bench import scale, synthesis


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m aiplane.bench")
    parser.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    parser.add_argument("--only", choices=("synthesis", "scale"))
    parser.add_argument("--rounds", type=int, default=scale.ROUNDS)
    parser.add_argument("--tenants", default=",".join(map(str, scale.SIZES)), help="comma-separated sizes")
    arguments = parser.parse_args()
    missed = []
    if arguments.only != "scale":
        missed += synthesis.main()
    if arguments.only != "synthesis":
        sizes = tuple(int(size) for size in arguments.tenants.split(","))
        missed += scale.main(arguments.rounds, sizes)
    if missed:
        print(f"targets missed: {'; '.join(missed)}")
        if arguments.strict:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
