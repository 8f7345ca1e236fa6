"""botocore as the reference signer for the AWSSigV4 tests.

`sign` runs botocore's own `add_auth` (SigV4Auth, or S3SigV4Auth for `s3`) at a fixed instant,
as the reference recipe does (aws-protocols.md §1, "Offline cross-check against botocore"),
and records the canonical request and string to sign it computed on the way.
"""
from datetime import datetime, timezone
from types import SimpleNamespace
from unittest import mock
from urllib.parse import quote, unquote

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

# RFC 3986 unreserved characters; everything else is percent-encoded (uppercase hex).
UNRESERVED = "-_.~"


class HeaderList:
    """An ordered list of header pairs (names may repeat) that AWSRequest accepts as `headers`."""

    def __init__(self, pairs):
        self.pairs = list(pairs)

    def items(self):
        return self.pairs


def encode_component(text):
    """What SigV4Signer.encodeURIComponent does: RFC 3986, `/` encoded, space as %20."""
    return quote(text, safe=UNRESERVED)


def encode_path(text):
    """What SigV4Signer.encodePath does: like encode_component but `/` kept."""
    return quote(text, safe="/" + UNRESERVED)


def wire_query(items):
    """What SigningRequest.wireURL() puts after `?`: encoded pairs sorted by name then value."""
    pairs = sorted((encode_component(name), encode_component(value)) for name, value in items)
    return "&".join(f"{name}={value}" for name, value in pairs)


def wire_url(scheme, host, path, query):
    url = f"{scheme}://{host}{path or '/'}"
    return url + ("?" + wire_query(query) if query else "")


def sign(*, method, url, headers, body, service, region, access_key, secret_key, token, when, unsigned_payload=False):
    """Signs with botocore at `when` (an aware or naive UTC datetime).

    Returns the request's headers after signing (list of pairs), the canonical request and
    the string to sign.
    """
    request = AWSRequest(method=method, url=url, headers=HeaderList(headers), data=body)
    if unsigned_payload:
        # S3SigV4Auth reads the client's s3 config; this is how boto3 sends UNSIGNED-PAYLOAD.
        request.context["client_config"] = SimpleNamespace(s3={"payload_signing_enabled": False})
    signer_class = S3SigV4Auth if service == "s3" else SigV4Auth
    signer = signer_class(Credentials(access_key, secret_key, token), service, region)
    captured = {}
    canonical_request, string_to_sign = signer.canonical_request, signer.string_to_sign

    def capture_canonical_request(req):
        captured["canonical_request"] = canonical_request(req)
        return captured["canonical_request"]

    def capture_string_to_sign(req, creq):
        captured["string_to_sign"] = string_to_sign(req, creq)
        return captured["string_to_sign"]

    signer.canonical_request = capture_canonical_request
    signer.string_to_sign = capture_string_to_sign
    naive_utc = when.astimezone(timezone.utc).replace(tzinfo=None) if when.tzinfo else when
    with mock.patch("botocore.auth.get_current_datetime", return_value=naive_utc):
        signer.add_auth(request)
    return SimpleNamespace(
        headers=list(request.headers.items()),
        authorization=request.headers["Authorization"],
        canonical_request=captured["canonical_request"],
        string_to_sign=captured["string_to_sign"],
    )


def amz_date_to_datetime(text):
    return datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)


# ---- The test-suite request format (Tests/AWSSigV4Tests/Fixtures/<case>/request.txt) ----


def parse_suite_request(text):
    """Parses a request.txt of the AWS SigV4 test suite.

    The request line is `METHOD <target> HTTP/1.1`; the target's path is the wire path taken
    verbatim (the suite writes `/example space/` and `/ሴ` raw), its query is `&`-separated
    `name=value` pairs that are percent-decoded to raw items. A header line that starts with
    whitespace continues the previous header as another value of the same name (this is how the
    suite's get-header-value-multiline is signed: `value1,value2,value3`). The body follows the
    first empty line.
    """
    head, _, body = text.partition("\n\n")
    lines = head.split("\n")
    request_line = lines[0]
    method, _, rest = request_line.partition(" ")
    target = rest.rsplit(" ", 1)[0]
    path, _, query_text = target.partition("?")
    query = []
    if query_text:
        for pair in query_text.split("&"):
            name, _, value = pair.partition("=")
            query.append((unquote(name), unquote(value)))
    headers = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t"):
            headers.append((headers[-1][0], line))
        else:
            name, _, value = line.partition(":")
            headers.append((name, value))
    return SimpleNamespace(method=method, path=path, query=query, headers=headers, body=body.encode())


def parse_context(text):
    """context.txt: `key: value` lines (service, region, access-key-id, secret-access-key,
    session-token, date, payload)."""
    context = {}
    for line in text.splitlines():
        if line.strip():
            key, _, value = line.partition(":")
            context[key.strip()] = value.strip()
    return context


SUITE_DEFAULTS = {
    "service": "service",
    "region": "us-east-1",
    "access-key-id": "AKIDEXAMPLE",
    "secret-access-key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    "date": "20150830T123600Z",
}


def sign_fixture(request_text, context_text=""):
    """Signs a fixture (request.txt + optional context.txt) with botocore."""
    context = dict(SUITE_DEFAULTS, **parse_context(context_text))
    request = parse_suite_request(request_text)
    host = next(value.strip() for name, value in request.headers if name.lower() == "host")
    query = "&".join(f"{encode_component(n)}={encode_component(v)}" for n, v in request.query)
    url = f"https://{host}{request.path}" + (f"?{query}" if query else "")
    return sign(
        method=request.method,
        url=url,
        headers=request.headers,
        body=request.body,
        service=context["service"],
        region=context["region"],
        access_key=context["access-key-id"],
        secret_key=context["secret-access-key"],
        token=context.get("session-token"),
        when=amz_date_to_datetime(context["date"]),
        unsigned_payload=context.get("payload") == "UNSIGNED-PAYLOAD",
    )
