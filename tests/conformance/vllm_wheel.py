"""What the pinned vLLM defines, read from its own wheel (`pip download vllm==X --no-deps`): the server's
flags, the environment variables it reads, its requirements, and what its image adds to them."""
from __future__ import annotations

import ast
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

ENGINE_ARGS, FRONTEND_ARGS = "vllm/engine/arg_utils.py", "vllm/entrypoints/openai/cli_args.py"
# What the vllm/vllm-openai image installs beyond vLLM's own requirements: the `vllm-openai-base` stage of
# vLLM's docker/Dockerfile (accelerate, hf_transfer, modelscope, bitsandbytes, timm, boto3, and the Run:ai
# model streamer with its S3 backend). No OpenTelemetry package is among them.
IMAGE_EXTRAS = frozenset({"accelerate", "hf-transfer", "modelscope", "bitsandbytes", "timm", "boto3", "runai-model-streamer", "runai-model-streamer-s3"})
# The distributions vllm/tracing.py imports from (`opentelemetry.sdk...` and `opentelemetry.trace/context`).
TRACING_NEEDS = frozenset({"opentelemetry-sdk", "opentelemetry-api"})


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def fetch(version: str, cache: Path) -> Path:
    """The wheel of `vllm==version` from the package index, kept in `cache` between runs."""
    found = sorted(cache.glob(f"vllm-{version}-*.whl"))
    if not found:
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", str(cache), f"vllm=={version}"],
            check=True, capture_output=True, text=True,
        )
        found = sorted(cache.glob(f"vllm-{version}-*.whl"))
    return found[0]


@dataclass(frozen=True)
class VllmWheel:
    path: Path

    def source(self, name: str) -> str:
        with zipfile.ZipFile(self.path) as wheel:
            return wheel.read(name).decode("utf-8")

    @cached_property
    def flags(self) -> dict[str, bool]:
        """Every flag of the OpenAI-compatible server -> whether it is deprecated. Literal `add_argument`
        flags, the frontend dataclass's fields (added as `--<field>`), and `--no-` forms of boolean flags."""
        flags: dict[str, bool] = {}
        for name in (ENGINE_ARGS, FRONTEND_ARGS):
            tree = ast.parse(self.source(name))
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument":
                    deprecated = any(k.arg == "deprecated" and getattr(k.value, "value", False) for k in node.keywords)
                    boolean = any(k.arg == "action" and "BooleanOptionalAction" in ast.unparse(k.value) for k in node.keywords)
                    for argument in node.args:
                        if isinstance(argument, ast.Constant) and str(argument.value).startswith("--"):
                            flags[argument.value] = deprecated
                            if boolean:
                                flags["--no-" + argument.value[2:]] = deprecated
                if isinstance(node, ast.ClassDef) and node.name == "FrontendArgs":
                    for field in node.body:
                        if isinstance(field, ast.AnnAssign) and isinstance(field.target, ast.Name):
                            flags["--" + field.target.id.replace("_", "-")] = False
        return flags

    @cached_property
    def environment_variables(self) -> set[str]:
        tree = ast.parse(self.source("vllm/envs.py"))
        for node in tree.body:
            target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
            if getattr(target, "id", "") == "environment_variables":
                return {key.value for key in node.value.keys}
        raise AssertionError("vllm/envs.py defines no environment_variables")

    def requirements(self, extra: str | None = None) -> set[str]:
        with zipfile.ZipFile(self.path) as wheel:
            metadata = next(name for name in wheel.namelist() if name.endswith(".dist-info/METADATA"))
            lines = wheel.read(metadata).decode().splitlines()
        found = set()
        for line in lines:
            if not line.startswith("Requires-Dist:"):
                continue
            requirement, _, marker = line.removeprefix("Requires-Dist:").strip().partition(";")
            in_extra = re.search(r"extra\s*==\s*['\"]([\w-]+)['\"]", marker)
            if (in_extra.group(1) if in_extra else None) == extra:
                found.add(normalized(re.split(r"[\s<>=!~\[(]", requirement, maxsplit=1)[0]))
        return found

    @property
    def image_packages(self) -> set[str]:
        return self.requirements() | IMAGE_EXTRAS
