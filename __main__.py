"""The Pulumi program. `pulumi up` and `aiplane plan` (offline) both run this file, on the same stack file."""
from pathlib import Path

import pulumi

from aiplane.loader import load_stack
from aiplane.platform import compose

compose(load_stack(pulumi.get_stack(), Path(__file__).resolve().parent / "stacks"))
