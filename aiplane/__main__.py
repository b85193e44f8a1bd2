"""The `aiplane` command (and `python -m aiplane`): the CLI, in a process tuned for a short life.

The process runs one command and exits, so CPython's cyclic garbage collector would only rescan a heap
that keeps growing while pydantic, Pulumi and the provider SDKs import and a stack synthesizes: measured
with `make bench`, that was close to a third of `aiplane plan`. Reference counting still frees nearly
everything. (`aiplane.synth.engine.cyclic_gc_paused` does the same for synthesis inside long-lived processes.)
"""
import gc


def main() -> None:
    gc.disable()  # before the imports below, which are most of the start-up
    from aiplane.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
