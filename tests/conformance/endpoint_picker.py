"""Stand-ins for the inference gateway's data path, speaking the protocols the real parts speak: an endpoint
picker that serves Envoy's external processing gRPC service (`envoy.service.ext_proc.v3.ExternalProcessor`,
message classes from the xds-protos package) as the Gateway API Inference Extension's Endpoint Picker Protocol
defines it, and a gateway that routes by the stack's rendered HTTPRoutes, asks the pool's picker over ext-proc
for each request, and forwards to the endpoint the picker named.

The picker's rule is a stand-in for the real EPP's scorers, reduced to the part the architecture relies on:
a request whose prompt starts like an earlier one goes to the endpoint that served it (prefix-cache
affinity); a new prefix goes to the endpoint that has served the fewest. Protocol facts (docs/proposals/
004-endpoint-picker-protocol in kubernetes-sigs/gateway-api-inference-extension): the picker answers the
request body with the `x-gateway-destination-endpoint` header set to `ip:port` and the same value in the
`envoy.lb` dynamic metadata namespace; the gateway sends the request to that endpoint.
"""
from __future__ import annotations

import json
import threading
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

import grpc
from envoy.config.core.v3 import base_pb2
from envoy.service.ext_proc.v3 import external_processor_pb2 as ext_proc
from envoy.service.ext_proc.v3 import external_processor_pb2_grpc as ext_proc_grpc
from google.protobuf import struct_pb2

from tests.conformance.gateway_routes import route

DESTINATION = "x-gateway-destination-endpoint"
METADATA_NAMESPACE = "envoy.lb"
PREFIX_CHARACTERS = 64


@dataclass
class Picker(ext_proc_grpc.ExternalProcessorServicer):
    endpoints: list[str]
    by_prefix: dict[str, str] = field(default_factory=dict)
    served: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def pick(self, body: bytes) -> str:
        request = json.loads(body or b"{}")
        prompt = "".join(str(message.get("content", "")) for message in request.get("messages", []))[:PREFIX_CHARACTERS]
        with self.lock:
            endpoint = self.by_prefix.get(prompt) or min(self.endpoints, key=lambda candidate: (self.served[candidate], candidate))
            self.by_prefix[prompt] = endpoint
            self.served[endpoint] += 1
        return endpoint

    def Process(self, request_iterator, context):  # noqa: N802 - the gRPC service's method name
        for message in request_iterator:
            if message.HasField("request_headers"):
                yield ext_proc.ProcessingResponse(request_headers=ext_proc.HeadersResponse(response=ext_proc.CommonResponse()))
            elif message.HasField("request_body"):
                endpoint = self.pick(message.request_body.body)
                mutation = ext_proc.HeaderMutation(
                    set_headers=[base_pb2.HeaderValueOption(header=base_pb2.HeaderValue(key=DESTINATION, raw_value=endpoint.encode()))]
                )
                metadata = struct_pb2.Struct()
                metadata.update({METADATA_NAMESPACE: {DESTINATION: endpoint}})
                yield ext_proc.ProcessingResponse(
                    request_body=ext_proc.BodyResponse(response=ext_proc.CommonResponse(header_mutation=mutation)),
                    dynamic_metadata=metadata,
                )


@contextmanager
def picker_server(picker: Picker) -> Iterator[str]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    ext_proc_grpc.add_ExternalProcessorServicer_to_server(picker, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop(grace=None)


def ask_picker(address: str, path: str, body: bytes) -> str:
    """One request through ext-proc, as the gateway sends it: headers, then the body; the picked endpoint back."""
    headers = ext_proc.HttpHeaders(headers=base_pb2.HeaderMap(headers=[
        base_pb2.HeaderValue(key=":method", raw_value=b"POST"), base_pb2.HeaderValue(key=":path", raw_value=path.encode()),
        base_pb2.HeaderValue(key="content-type", raw_value=b"application/json"),
    ]))
    messages = [ext_proc.ProcessingRequest(request_headers=headers),
                ext_proc.ProcessingRequest(request_body=ext_proc.HttpBody(body=body, end_of_stream=True))]
    with grpc.insecure_channel(address) as channel:
        responses = list(ext_proc_grpc.ExternalProcessorStub(channel).Process(iter(messages)))
    (picked,) = [r for r in responses if r.HasField("request_body")]
    header = {h.header.key: h.header.raw_value.decode() for h in picked.request_body.response.header_mutation.set_headers}[DESTINATION]
    metadata = picked.dynamic_metadata.fields[METADATA_NAMESPACE].struct_value.fields[DESTINATION].string_value
    assert header == metadata, f"the picker set {header} in the header but {metadata} in the metadata"
    return header


@dataclass
class Gateway:
    """Routes by the rendered HTTPRoutes; each InferencePool's requests go where its picker says."""

    http_routes: list[dict]
    pickers: dict[str, str]  # pool name -> the picker's ext-proc address
    forwarded: list[dict] = field(default_factory=list)

    def handler(self) -> type[BaseHTTPRequestHandler]:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                return

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                routed = route(gateway.http_routes, self.path)
                if routed is None or routed.backend_kind != "InferencePool":
                    self.send_response(404)
                    self.end_headers()
                    return
                endpoint = ask_picker(gateway.pickers[routed.backend], self.path, body)
                gateway.forwarded.append({"pool": routed.backend, "endpoint": endpoint, "path": routed.path})
                upstream = urllib.request.Request(f"http://{endpoint}{routed.path}", data=body, headers={"Content-Type": "application/json"})
                with urllib.request.urlopen(upstream, timeout=30) as answer:
                    data = answer.read()
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


