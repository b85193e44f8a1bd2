"""What every aiplane component shares: its type token shape and the cost scope its children inherit."""
from __future__ import annotations

from dataclasses import dataclass

import pulumi


@dataclass(frozen=True)
class CostScope:
    """The cost-allocation coordinates of a component: which component, and which tenant if any."""

    component: str
    tenant: str | None = None


class AiplaneComponent(pulumi.ComponentResource):
    """Base class. Type tokens are `aiplane:<module>:<Component>`; `<module>` is the component's cost tag.

    A component nested in a tenant's component inherits that tenant, so everything under a tenant is
    charged to it without each child having to say so.
    """

    cost_scope: CostScope

    def __init__(self, type_token: str, name: str, opts: pulumi.ResourceOptions | None = None, tenant: str | None = None):
        package, module, _ = type_token.split(":")
        if package != "aiplane":
            raise ValueError(f"component type token {type_token!r} must start with 'aiplane:'")
        parent_scope: CostScope | None = getattr(opts.parent if opts else None, "cost_scope", None)
        self.cost_scope = CostScope(component=module, tenant=tenant or (parent_scope.tenant if parent_scope else None))
        super().__init__(type_token, name, None, opts)

    def child(self, **options) -> pulumi.ResourceOptions:
        """Options for a child resource: parented here, so URNs nest and names never collide across instances."""
        return pulumi.ResourceOptions(parent=self, **options)
