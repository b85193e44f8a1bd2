"""Where a request the inference gateway receives goes, by the HTTPRoutes a stack renders, as the Gateway API
defines route matching (v1.5 standard channel, HTTPRoute: a PathPrefix matches whole path segments, the longest
prefix wins) and the URLRewrite filter (ReplacePrefixMatch replaces the matched prefix). A stand-in for the
gateway's routing only: which pod of the pool the endpoint picker chooses is not exercised here."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Routed:
    route: str
    backend_kind: str
    backend: str
    path: str  # as the backend receives it


def prefix_matches(prefix: str, path: str) -> bool:
    trimmed = prefix.rstrip("/")
    return path == trimmed or path.startswith(trimmed + "/") or trimmed == ""


def route(http_routes: list[dict], path: str) -> Routed | None:
    """The backend and the rewritten path of `path`, or None when no route matches."""
    candidates = []
    for http_route in http_routes:
        for rule in http_route["spec"]["rules"]:
            for match in rule.get("matches") or [{"path": {"type": "PathPrefix", "value": "/"}}]:
                spec = match["path"]
                if spec["type"] == "PathPrefix" and prefix_matches(spec["value"], path):
                    candidates.append((len(spec["value"].rstrip("/")), http_route, rule, spec["value"]))
    if not candidates:
        return None
    _, http_route, rule, prefix = max(candidates, key=lambda candidate: candidate[0])
    rewritten = path
    for step in rule.get("filters") or []:
        if step["type"] == "URLRewrite" and step["urlRewrite"]["path"]["type"] == "ReplacePrefixMatch":
            replacement = step["urlRewrite"]["path"]["replacePrefixMatch"]
            rest = path[len(prefix.rstrip("/")):]
            rewritten = (replacement.rstrip("/") + "/" + rest.lstrip("/")) if rest else replacement
    (backend,) = rule["backendRefs"]
    return Routed(http_route["metadata"]["name"], backend["kind"], backend["name"], rewritten)
