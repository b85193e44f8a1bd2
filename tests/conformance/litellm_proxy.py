"""The pinned LiteLLM proxy, run for real on a config aiplane rendered, against local stand-ins of the
upstreams it would call: vLLM servers and managed providers that speak the OpenAI and Anthropic protocols.

Only upstream addresses change (each `api_base` points at the stand-in); every other line of the config is
what the gateway deploys. The proxy runs from `.venv-litellm` (`make setup`; or AIPLANE_LITELLM=/path/to/litellm)
without a database: the master key authenticates; `keystore.py` stands in for the key table where virtual
keys are under test."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from ruamel.yaml import YAML

from aiplane.components.inference_gateway import GATEWAY_SERVICE as INFERENCE_GATEWAY_SERVICE
from aiplane.components.model_gateway import GATEWAY_NAME
from aiplane.components.workloads import GATEWAY_NAMESPACE
from aiplane.platform import gateway_plan
from tests.conftest import PROJECT_DIR, synthesized

MASTER_KEY = "sk-conformance-master"
USAGE = {"prompt_tokens": 100, "completion_tokens": 50}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Upstreams:
    """What the stand-ins received, and which upstream models they fail on purpose."""

    calls: list[dict] = field(default_factory=list)
    failing: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def served(self) -> list[str]:
        with self.lock:
            return [call["model"] for call in self.calls if not call["failed"]]


def _handler(upstreams: Upstreams) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet
            return

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            model = body.get("model", "")
            failed = model in upstreams.failing
            with upstreams.lock:
                upstreams.calls.append({"path": self.path, "model": model, "max_tokens": body.get("max_tokens"), "failed": failed})
            if failed:
                self._send(500, {"error": {"message": f"{model} is overloaded", "type": "server_error"}})
            elif self.path.endswith("/messages"):
                self._send(200, {
                    "id": "msg_1", "type": "message", "role": "assistant", "model": model, "stop_reason": "end_turn",
                    "content": [{"type": "text", "text": "ok"}],
                    "usage": {"input_tokens": USAGE["prompt_tokens"], "output_tokens": USAGE["completion_tokens"]},
                })
            else:
                self._send(200, {
                    "id": "chatcmpl-1", "object": "chat.completion", "created": int(time.time()), "model": model,
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
                    "usage": {**USAGE, "total_tokens": sum(USAGE.values())},
                })

        def _send(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


@contextmanager
def local_http_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """`handler` served on 127.0.0.1 from a thread, for as long as the block runs; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def upstream_server() -> Iterator[tuple[str, Upstreams]]:
    upstreams = Upstreams()
    with local_http_server(_handler(upstreams)) as url:
        yield url, upstreams


def pointed_at(config_text: str, upstream: str, inference_gateway: str | None = None) -> str:
    """The rendered config with every upstream's host replaced by the stand-in's, and nothing else changed: a
    served model keeps the path of its address (`/v1` on its Service, `/<model>/v1` on the inference gateway).
    With `inference_gateway`, the addresses on the inference gateway's host go there instead."""
    config = YAML(typ="safe").load(config_text)
    for entry in config["model_list"]:
        params = entry["litellm_params"]
        if params["model"].startswith("anthropic/"):
            params["api_base"] = upstream
        else:
            address = urlsplit(params["api_base"]) if params.get("api_base") else None
            host = inference_gateway if inference_gateway and address and address.hostname.startswith(INFERENCE_GATEWAY_SERVICE) else upstream
            params["api_base"] = f"{host}{address.path if address else '/v1'}"
    return json.dumps(config)


def litellm_binary() -> Path:
    binary = Path(os.environ.get("AIPLANE_LITELLM") or PROJECT_DIR / ".venv-litellm" / "bin" / "litellm")
    assert binary.is_file(), f"{binary}: LiteLLM's proxy is not installed; run `make setup`"
    return binary


@dataclass
class Proxy:
    url: str
    log: Path
    ports: dict[int, int] = field(default_factory=dict)  # container port as deployed -> where it listens here

    def call(self, method: str, path: str, body: dict | None = None, key: str | None = MASTER_KEY) -> tuple[int, dict, dict]:
        headers = {"Content-Type": "application/json"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        request = urllib.request.Request(self.url + path, data=json.dumps(body).encode() if body is not None else None, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, dict(response.headers), _json(response.read())
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), _json(error.read())

    def chat(self, model: str, **extra) -> tuple[int, dict, dict]:
        return self.call("POST", "/v1/chat/completions", {"model": model, "messages": [{"role": "user", "content": "hi"}], **extra})


def _json(data: bytes) -> dict:
    try:
        return json.loads(data or b"{}")
    except ValueError:
        return {"text": data.decode(errors="replace")}


@contextmanager
def running_proxy(
    config_text: str, workdir: Path, environment: dict[str, str], sidecar: tuple[str, dict[str, str]] | None = None,
    beside_config: dict[str, str] | None = None,
) -> Iterator[Proxy]:
    """The proxy on `config_text` with the pod's `environment` and the files mounted beside its config; with
    `sidecar` (a script and its environment, as the pod runs them), that process beside it, sharing the
    directories the pod's containers share."""
    config = workdir / "config.yaml"
    config.write_text(config_text)
    for name, text in (beside_config or {}).items():
        (workdir / name).write_text(text)
    port = free_port()
    log = workdir / "proxy.log"
    shared = {name: str(workdir / Path(value).name) for name, value in {**environment, **(sidecar[1] if sidecar else {})}.items() if name.endswith("_DIR")}
    for directory in shared.values():
        Path(directory).mkdir(exist_ok=True)
    env = {
        **os.environ, **environment, **shared, "LITELLM_MASTER_KEY": MASTER_KEY, "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "OTEL_EXPORTER": "console", "LITELLM_LOG": "ERROR", "NO_PROXY": "127.0.0.1,localhost",
    }
    env.pop("DATABASE_URL", None)
    processes = []
    ports = {}
    with log.open("w") as output:
        processes.append(subprocess.Popen([str(litellm_binary()), "--config", str(config), "--host", "127.0.0.1", "--port", str(port)],
                                          stdout=output, stderr=subprocess.STDOUT, env=env, cwd=workdir))
        if sidecar:
            script, sidecar_env = sidecar
            (workdir / "sidecar.py").write_text(script)
            local = free_port()
            ports[int(sidecar_env["METRICS_PORT"])] = local
            processes.append(subprocess.Popen(
                [str(litellm_binary().with_name("python")), str(workdir / "sidecar.py")],
                stdout=output, stderr=subprocess.STDOUT, cwd=workdir,
                env={**os.environ, **sidecar_env, **shared, "METRICS_PORT": str(local), "METRICS_HOST": "127.0.0.1"},
            ))
    process = processes[0]
    proxy = Proxy(f"http://127.0.0.1:{port}", log, ports)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"LiteLLM's proxy exited at start:\n{log.read_text()[-3000:]}")
            try:
                if proxy.call("GET", "/health/readiness", key=None)[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        else:
            raise AssertionError(f"LiteLLM's proxy did not become ready:\n{log.read_text()[-3000:]}")
        yield proxy
    finally:
        for running in processes:
            running.terminate()
            try:
                running.wait(timeout=15)
            except subprocess.TimeoutExpired:
                running.kill()


def deployed(graph, kind: str, name: str, namespace: str = GATEWAY_NAMESPACE) -> dict:
    return next(
        r.inputs for r in graph.resources
        if r.type.startswith("kubernetes:") and r.inputs.get("kind") == kind
        and r.inputs["metadata"].get("name") == name and r.inputs["metadata"].get("namespace") == namespace
    )


def pod_containers(graph) -> dict[str, dict]:
    return {c["name"]: c for c in deployed(graph, "Deployment", GATEWAY_NAME)["spec"]["template"]["spec"]["containers"]}


@contextmanager
def deployed_gateway(
    environment: str, workdir: Path, stand_in: Callable[[dict, dict[str, str]], None] | None = None, inference_gateway: str | None = None
) -> Iterator[tuple]:
    """The proxy as the stack's gateway Deployment runs it: its rendered config (the ConfigMap's), its
    environment, and its sidecars with their scripts (from the same ConfigMap). `stand_in(config, files)` may
    add what replaces the database; it changes nothing else. With `inference_gateway`, pooled models are called
    there (the stand-in of the inference gateway's data path). Yields (spec, plan, config, proxy, upstreams, graph)."""
    spec, graph = synthesized(environment)
    plan = gateway_plan(spec)
    files = deployed(graph, "ConfigMap", f"{GATEWAY_NAME}-config")["data"]
    containers = pod_containers(graph)
    environment_variables = {item["name"]: item["value"] for item in containers["proxy"]["env"] if "value" in item}
    environment_variables |= {provider.api_key_env: "sk-upstream" for provider in plan.providers if provider.api_key_env}
    sidecar = None
    if "metrics" in containers:
        script = files[Path(containers["metrics"]["command"][-1]).name]
        sidecar = (script, {item["name"]: item["value"] for item in containers["metrics"]["env"]})
    mounted = deployed(graph, "Deployment", GATEWAY_NAME)["spec"]["template"]["spec"]["volumes"]
    beside = {item["path"]: files[item["key"]] for volume in mounted if volume["name"] == "config" for item in volume["configMap"]["items"]}
    rendered = YAML(typ="safe").load(beside.pop("config.yaml"))
    config = json.loads(json.dumps(rendered))
    if stand_in:
        stand_in(config, beside)
    with upstream_server() as (upstream, upstreams):
        with running_proxy(pointed_at(json.dumps(config), upstream, inference_gateway), workdir, environment_variables, sidecar, beside) as proxy:
            yield spec, plan, rendered, proxy, upstreams, graph
