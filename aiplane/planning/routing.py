"""Gateway routing as data: which model a request of a task class and tier reaches, and where it goes when
that model is overloaded or down. Pure: no Pulumi, no LiteLLM.

The model gateway renders this table into LiteLLM's config, so the semantics here are LiteLLM's router
semantics on that config: a client asks for a task class (`reasoning`); the tier of its key maps the
class to a model group (`standard/llama-3-1-70b`); when every deployment of the group fails or is in
cool-down, the router tries the group's fallbacks in order. `resolve` walks the same chain, so tests can
prove what a config does without running a proxy.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

TaskClass = Literal["classification", "extraction", "summarization", "synthesis", "reasoning"]
TASK_CLASSES: tuple[TaskClass, ...] = ("classification", "extraction", "summarization", "synthesis", "reasoning")
# Short, well-specified tasks go to a small model; open-ended ones to a large model.
SMALL_MODEL_TASKS: tuple[TaskClass, ...] = ("classification", "extraction", "summarization")
LARGE_MODEL_TASKS: tuple[TaskClass, ...] = ("synthesis", "reasoning")


class RoutingError(ValueError):
    """A routing table that cannot work: an unknown model, or fallbacks that loop."""


def fallback_cycle(fallbacks: Mapping[str, Sequence[str]]) -> list[str] | None:
    """A cycle in the fallback graph as the path that closes it (`a -> b -> a`), or None."""
    state: dict[str, str] = {}  # "open" while on the current path, "done" once fully explored

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = "open"
        for target in fallbacks.get(node, ()):
            if state.get(target) == "open":
                return [*path[path.index(target):], target] if target in path else [*path, target]
            if target not in state:
                found = visit(target, [*path, target])
                if found:
                    return found
        state[node] = "done"
        return None

    for start in sorted(fallbacks):
        if start not in state:
            found = visit(start, [start])
            if found:
                return found
    return None


@dataclass(frozen=True)
class Degradation:
    """What a tier falls back to under overload: a smaller model, a shorter answer, no tools."""

    model: str
    max_tokens: int
    tools: bool = False


@dataclass(frozen=True)
class Deployment:
    """One entry of the gateway's model list."""

    group: str  # the model name clients and fallbacks refer to
    model: str  # the served or provider model behind it
    max_tokens: int | None = None
    tools: bool = True


@dataclass(frozen=True)
class RoutingTable:
    deployments: tuple[Deployment, ...]
    aliases: Mapping[str, Mapping[TaskClass, str]]  # tier -> task class -> model group
    fallbacks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def group(self, name: str) -> tuple[Deployment, ...]:
        return tuple(deployment for deployment in self.deployments if deployment.group == name)


def tier_group(tier: str, model: str) -> str:
    return f"{tier}/{model}"


def degraded_group(tier: str) -> str:
    return f"{tier}/degraded"


def build_table(
    routes: Mapping[TaskClass, str],
    fallbacks: Mapping[str, Sequence[str]],
    tiers: Mapping[str, Degradation | None],
) -> RoutingTable:
    """The routing table of a gateway. Every tier gets its own model groups, so that each tier can fall back
    differently: to the models' own fallbacks first, then, under overload, to the tier's degraded deployment."""
    cycle = fallback_cycle(fallbacks)
    if cycle:
        raise RoutingError(f"a fallback cycle: {' -> '.join(cycle)}")
    models = sorted({*routes.values(), *fallbacks, *(target for targets in fallbacks.values() for target in targets)})
    deployments = [Deployment(group=model, model=model) for model in models]
    aliases: dict[str, dict[TaskClass, str]] = {}
    tier_fallbacks: dict[str, tuple[str, ...]] = {model: tuple(targets) for model, targets in fallbacks.items()}
    for tier, degradation in sorted(tiers.items()):
        aliases[tier] = {task: tier_group(tier, model) for task, model in routes.items()}
        degraded = ()
        if degradation is not None:
            deployments.append(
                Deployment(group=degraded_group(tier), model=degradation.model, max_tokens=degradation.max_tokens, tools=degradation.tools)
            )
            degraded = (degraded_group(tier),)
        for model in sorted(set(routes.values())):
            deployments.append(Deployment(group=tier_group(tier, model), model=model))
            tier_fallbacks[tier_group(tier, model)] = (*fallbacks.get(model, ()), *degraded)
    return RoutingTable(tuple(deployments), aliases, tier_fallbacks)


def resolve(table: RoutingTable, tier: str, task: TaskClass, unavailable: frozenset[str] = frozenset()) -> list[Deployment]:
    """The deployments a request tries, in order, until one is available: its group first, then the
    group's fallbacks, depth first as LiteLLM tries them (each fallback group with its own fallbacks).
    `unavailable` names models that are down or overloaded. Empty when nothing can serve the request."""
    tried: list[Deployment] = []
    seen: set[str] = set()

    def attempt(group: str) -> bool:
        if group in seen:
            return False
        seen.add(group)
        for deployment in table.group(group):
            tried.append(deployment)
            if deployment.model not in unavailable:
                return True
        return any(attempt(fallback) for fallback in table.fallbacks.get(group, ()))

    if attempt(table.aliases[tier][task]):
        return tried
    return []
