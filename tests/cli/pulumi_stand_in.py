"""A stand-in `pulumi` executable for `aiplane preview/up/destroy`: it records every call's arguments and
answers what the Automation API asks of the CLI (`version`, `stack select`, the operation with its event
log, `stack output`, `stack history`) as the real CLI shapes it."""
from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

STAND_IN_VERSION = "3.200.0"  # a CLI old enough that the Automation API reads events from a file
GLOBAL_FLAGS = ("--non-interactive",)  # flags the Automation API puts before every command

SCRIPT = '''#!{python}
import json, os, sys
GLOBAL_FLAGS = {global_flags!r}
with open(os.environ["PULUMI_STAND_IN_LOG"], "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
args = [arg for arg in sys.argv[1:] if arg not in GLOBAL_FLAGS]
fail = os.environ.get("PULUMI_STAND_IN_FAIL")
if args[:2] == ["stack", "select"] and fail == "select":
    sys.stderr.write(f"error: no stack named '{{args[-1]}}' found\\n")
    sys.exit(255)
if args[:1] == ["version"]:
    print("v{version}")
elif args[:2] == ["stack", "output"]:
    print("{{}}")
elif args[:2] == ["stack", "history"]:
    print(json.dumps([{{"kind": "update", "startTime": "2026-12-02T00:00:00.000000Z", "endTime": "2026-12-02T00:01:00.000000Z",
                      "message": "", "environment": {{}}, "config": {{}}, "result": "succeeded", "version": 1}}]))
elif args[:1] in (["preview"], ["up"], ["destroy"]):
    if fail == args[0]:
        sys.stderr.write("error: preview failed: 1 policy violation\\n")
        sys.exit(255)
    print(f"{{'Previewing update' if args[0] == 'preview' else 'Updating'}} (stand-in)")
    print("Policies:")
    print("    aiplane@v0.1.0 (local: policies/pack)")
    if "--event-log" in args:
        with open(args[args.index("--event-log") + 1], "a") as events:
            events.write(json.dumps({{"sequence": 1, "timestamp": 0, "summaryEvent": {{"maybeCorrupt": False, "durationSeconds": 1,
                                                                                  "resourceChanges": {{"same": 1}}, "PolicyPacks": {{}}}}}}) + "\\n")
'''


def install_stand_in(folder: Path) -> Path:
    """Write the stand-in as `folder/pulumi`; its calls go to `folder/calls.jsonl`."""
    folder.mkdir(parents=True, exist_ok=True)
    executable = folder / "pulumi"
    executable.write_text(SCRIPT.format(python=sys.executable, version=STAND_IN_VERSION, global_flags=set(GLOBAL_FLAGS)))
    executable.chmod(executable.stat().st_mode | stat.S_IEXEC)
    return folder / "calls.jsonl"


def recorded_calls(log: Path) -> list[list[str]]:
    """Each call's arguments, the global flags left out."""
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return [[arg for arg in call if arg not in GLOBAL_FLAGS] for call in calls]


def stand_in_environment(folder: Path, log: Path) -> dict[str, str]:
    return {"PATH": f"{folder}{os.pathsep}{os.environ['PATH']}", "PULUMI_STAND_IN_LOG": str(log)}
