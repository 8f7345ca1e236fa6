"""Helpers for the `[server.http]` listener: a free port, plain GETs, a parsed scrape."""
import http.client
import socket

from prometheus_client.parser import text_string_to_metric_families


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_config(port, host="127.0.0.1"):
    return f'[server.http]\nlisten = "{host}:{port}"\n'


def request(port, path, method="GET", timeout=5):
    """(status, body text, headers) of one request on a fresh connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        return response.status, response.read().decode(), dict(response.getheaders())
    finally:
        conn.close()


def scrape(port):
    """Every sample of /metrics, parsed by prometheus_client's text parser:
    {(sample name, frozenset(labels)): value}, plus the family types by family name."""
    status, body, headers = request(port, "/metrics")
    assert status == 200, body
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4"), headers
    samples, types = {}, {}
    for family in text_string_to_metric_families(body):
        types[family.name] = family.type
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples, types


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())))
