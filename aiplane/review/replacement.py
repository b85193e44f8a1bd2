"""Which changes the providers cannot make in place: the properties whose change makes `pulumi up` replace
a resource (delete and create, or create and delete), per type aiplane emits.

The table is data, `aiplane/data/replacement.yaml`, with the upstream source of every entry: the Terraform
AWS provider's `ForceNew` attributes and `RequiresReplace` plan modifiers (pulumi-aws bridges that
provider, and the bridge replaces exactly where it would), the Random provider's, and the Kubernetes
provider's own table of fields that force replacement. `tests/review/test_replacement.py` keeps it
complete: every type aiplane can emit has an entry.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from aiplane.export.terraform import PLURALISED_BLOCKS, TERRAFORM_TYPES, snake
from aiplane.files import parse_yaml

REPLACEMENT_FILE = "replacement.yaml"
# Kubernetes objects are identified by name and namespace: a change of either is a new object.
KUBERNETES_IDENTITY = ("metadata.name", "metadata.namespace")


@dataclass(frozen=True)
class TypeRule:
    replace: tuple[str, ...]  # dotted attribute paths (Terraform names for AWS, Kubernetes field paths otherwise)
    source: str


@dataclass(frozen=True)
class ReplacementTable:
    aws: dict[str, TypeRule]  # by Terraform type
    kubernetes: dict[str, TypeRule]  # by group/version/kind, as the type token spells it: apps/v1/Deployment
    random: dict[str, TypeRule]  # by Pulumi type token
    upstream: dict[str, Any]

    def rule(self, resource_type: str) -> TypeRule | None:
        if resource_type.startswith("kubernetes:"):
            _, group_version, kind = resource_type.split(":")
            return self.kubernetes.get(f"{group_version}/{kind}")
        if resource_type in TERRAFORM_TYPES:
            return self.aws.get(TERRAFORM_TYPES[resource_type])
        return self.random.get(resource_type)

    def attribute_path(self, resource_type: str, path: tuple[str | int, ...]) -> str:
        """A changed input's path as the table names it: list indexes dropped; for AWS, Terraform's snake_case
        names with the singular names of blocks Pulumi pluralises (`taints` is Terraform's `taint`)."""
        names = [part for part in path if isinstance(part, str)]
        if not resource_type.startswith("aws:") or resource_type not in TERRAFORM_TYPES:
            return ".".join(names)
        block, translated = TERRAFORM_TYPES[resource_type], []
        for name in names:
            attribute = PLURALISED_BLOCKS.get((block, snake(name)), snake(name))
            translated.append(attribute)
            block = f"{block}.{attribute}"
        return ".".join(translated)

    def forces_replacement(self, resource_type: str, path: tuple[str | int, ...], before: Any, after: Any) -> bool:
        """Whether changing the input at `path` replaces the resource. A change inside a block the provider
        replaces on, or of a block that holds such an attribute, is a replacement too."""
        attribute = self.attribute_path(resource_type, path)
        if resource_type.startswith("kubernetes:") and attribute in KUBERNETES_IDENTITY:
            return True
        rule = self.rule(resource_type)
        if rule is None:
            return False
        return any(
            attribute == forcing or attribute.startswith(forcing + ".") or forcing.startswith(attribute + ".")
            for forcing in rule.replace
        )


@cache
def load_replacement_table() -> ReplacementTable:
    document = parse_yaml(resources.files("aiplane").joinpath("data", REPLACEMENT_FILE).read_text(encoding="utf-8"), REPLACEMENT_FILE)

    def rules(section: str) -> dict[str, TypeRule]:
        return {
            # A conditional replacement counts as one: a reviewer is warned where `pulumi up` may replace.
            name: TypeRule((*(entry.get("replace") or ()), *(entry.get("conditional") or {})), entry["source"])
            for name, entry in (document.get(section) or {}).items()
        }

    return ReplacementTable(rules("aws"), rules("kubernetes"), rules("random"), document["upstream"])
