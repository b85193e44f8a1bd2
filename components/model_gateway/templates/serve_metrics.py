"""Serves the proxy's Prometheus metrics on a port of their own: runs as a sidecar of the gateway.

LiteLLM answers /metrics on its API port only with a valid key (require_auth_for_metrics_endpoint), and every
tenant can reach that port. So the proxy writes its metrics to PROMETHEUS_MULTIPROC_DIR (prometheus_client's
multiprocess mode, which LiteLLM supports), and this process, which reads the same directory, serves them on
METRICS_PORT, which the NetworkPolicy opens to the monitoring namespace alone. prometheus_client ships with
the proxy's image; this runs in it.
"""
import os
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app, multiprocess


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # one line per scrape is noise
        pass


def main():
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    port = int(os.environ["METRICS_PORT"])
    make_server(os.environ.get("METRICS_HOST", "0.0.0.0"), port, make_wsgi_app(registry), handler_class=QuietHandler).serve_forever()


if __name__ == "__main__":
    main()
