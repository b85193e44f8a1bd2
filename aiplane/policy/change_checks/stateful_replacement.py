"""AIP_CHG_1: a change does not replace or delete a resource that holds state unless the stack file allows it.

A check on a change rather than on one graph: `aiplane diff` runs it on what the change does to the base
(`aiplane.review.changes`). The Pulumi components of others report spurious replacements of clusters and
node groups on `pulumi up` (pulumi/pulumi-eks#764, #862; pulumi/pulumi#12298); a reviewer must see the
replacement of a cluster, a bucket or a key before it merges, and whoever means it says so in the stack
file (`aiplane:allowReplacements`, with a reason and an expiry, like a waiver).
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from fnmatch import fnmatchcase

from aiplane.components.protection import STATEFUL_TYPES
from aiplane.export.terraform import address
from aiplane.review.changes import ResourceChange
from aiplane.spec.stack import ReplacementAllowance
from aiplane.synth.graph import GraphResource

ID = "AIP_CHG_1"
TITLE = "Changes do not replace or delete stateful resources unless the stack file allows it"
WHY = (
    "Replacing an EKS cluster, a node group, a bucket, a KMS key, an Aurora cluster, an OpenSearch collection or a "
    "Lustre file system loses its data or its workloads; `pulumi up` would do it without asking."
)
RESOURCES = list(STATEFUL_TYPES)


def allowance_for(address: str, allowances: list[ReplacementAllowance], today: date) -> ReplacementAllowance | None:
    return next((entry for entry in allowances if fnmatchcase(address, entry.resource) and entry.expires >= today), None)


def evaluate(changes: list[ResourceChange], allowances: list[ReplacementAllowance], today: date) -> Iterator[tuple[GraphResource, bool]]:
    """`(resource, passed)` for every stateful resource the change replaces or deletes (every stateful type
    is an AWS type, named by its Terraform address as waivers and allowances name it)."""
    for change in changes:
        if change.resource.type in STATEFUL_TYPES and change.action in ("replace", "delete"):
            yield change.resource, allowance_for(address(change.resource), allowances, today) is not None
