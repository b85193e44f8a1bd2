"""What every aiplane component shares: its type token shape, the cost scope its children inherit, and the
stack-file field it is configured by."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import pulumi

# The input under which a component records the stack-file field that configures it, as a path from the
# stack's `config` (["aiplane:platform", "compute", "pools", 0]); the gate reads it to point findings there.
STACK_SECTION_INPUT = "stackSection"
StackSection = tuple[str | int, ...]
_configuring_section: ContextVar[StackSection | None] = ContextVar("configuring_section", default=None)


@contextmanager
def configured_by(section: StackSection | None) -> Iterator[None]:
    """Components constructed inside are configured by `section` of the stack file, unless a nested
    `configured_by` names a narrower one (a tenant's entry, one model of a list); None keeps the enclosing
    section. A decorator as well: the function's components are configured by `section`."""
    token = _configuring_section.set(tuple(section) if section is not None else _configuring_section.get())
    try:
        yield
    finally:
        _configuring_section.reset(token)


@dataclass(frozen=True)
class CostScope:
    """The cost-allocation coordinates of a component: which component, and which tenant if any."""

    component: str
    tenant: str | None = None


class AiplaneComponent(pulumi.ComponentResource):
    """Base class. Type tokens are `aiplane:<module>:<Component>`; `<module>` is the component's cost tag.

    A component nested in a tenant's component inherits that tenant, so everything under a tenant is
    charged to it without each child having to say so. A component built under `configured_by` records
    that stack-file section as an input where it differs from its parent's, so the engine's component tree
    says which part of the stack file produced every resource.
    """

    cost_scope: CostScope
    stack_section: StackSection | None

    def __init__(self, type_token: str, name: str, opts: pulumi.ResourceOptions | None = None, tenant: str | None = None):
        package, module, _ = type_token.split(":")
        if package != "aiplane":
            raise ValueError(f"component type token {type_token!r} must start with 'aiplane:'")
        parent_scope: CostScope | None = getattr(opts.parent if opts else None, "cost_scope", None)
        self.cost_scope = CostScope(component=module, tenant=tenant or (parent_scope.tenant if parent_scope else None))
        self.stack_section = _configuring_section.get()
        parent_section = getattr(opts.parent if opts else None, "stack_section", None)
        recorded = {STACK_SECTION_INPUT: list(self.stack_section)} if self.stack_section and self.stack_section != parent_section else None
        self._recorded_section = recorded or {}
        super().__init__(type_token, name, recorded, opts)

    def register_outputs(self, outputs) -> None:
        # The engine keeps a component's registered outputs as its state, and that state is what a policy
        # pack is handed (aiplane.synth.analyzer): the recorded section must survive there too.
        super().register_outputs({**self._recorded_section, **outputs})

    def child(self, **options) -> pulumi.ResourceOptions:
        """Options for a child resource: parented here, so URNs nest and names never collide across instances."""
        return pulumi.ResourceOptions(parent=self, **options)
