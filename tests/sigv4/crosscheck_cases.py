"""Random SigV4 cases signed by botocore, for the Swift cross-check (BotocoreCrossCheckTests).

Run `python3 -m tests.sigv4.crosscheck_cases` from the repository root to rewrite
`tests/sigv4/cases.txt`. The generator is seeded, so the file only changes when this script or
botocore's signing changes; `test_botocore_crosscheck.py` notices either.

File format (UTF-8, one record per line, fields separated by single spaces):

    case <id>
    service <name> / region <name> / access-key-id <id> / secret-access-key <key>
    session-token <token>                     (only when the credentials have one)
    seconds <unix time> / amz-date <YYYYMMDDTHHMMSSZ>
    method <M> / scheme <s> / host <host[:port]>
    raw-path <path before encoding> / path <wire path>
    query <name> <value>                      (repeated, raw values, request order)
    header <name> <value>                     (repeated, request order)
    body <bytes>
    payload sha256 | unsigned
    url <wire URL botocore signed>
    expect-header <lowercase name> <value>    (host/x-amz-* after signing, in order)
    authorization <value>
    end

Every field is percent-escaped byte-wise: `%`, space and every byte outside 0x21-0x7E become
`%XX`; a lone `-` stands for the empty string (a real `-` is written `%2D`).
"""
import random
import string
import sys
from datetime import datetime, timezone
from hashlib import sha256
from pathlib import Path

from botocore.auth import _host_from_url

from .botocore_signing import encode_path, sign, wire_url

CASES_FILE = Path(__file__).resolve().parent / "cases.txt"
SEED = 20150830
COUNT = 300

SERVICES = ["s3", "s3", "s3", "lambda", "sqs", "secretsmanager", "sts", "monitoring", "sns", "codedeploy"]
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "us-gov-west-1", "cn-north-1"]
METHODS = ["GET", "PUT", "POST", "DELETE", "HEAD"]
SEGMENTS = [
    "photos", "2024", "a b", "a+b", "c:d", "~user", "tilde~", "ünïcödé", "日本語", "100%", "semi;colon",
    "eq=sign", "q?mark", "hash#tag", "comma,", "quote'", "star*", "paren()", "at@", "dollar$", "amp&",
    "bracket[1]", "..", ".", "", "...", ".hidden", "Ω", "emoji-😀", "arn:aws:lambda:us-east-1:123456789012:function:fn",
    "2015-03-31", "functions", "invocations", "UPPER", "MiXeD", "-_.~",
]
QUERY_NAMES = [
    "prefix", "list-type", "uploads", "uploadId", "partNumber", "Action", "Version", "a", "A", "b", "B",
    "key with space", "ü", "x-id", "max-keys", "Param", "delimiter", "continuation-token", "versionId", "~t",
]
QUERY_VALUES = [
    "", "", "1", "2", "10", "a/b", "x=y", "a b", "+plus", "~tilde", "ünïcode", "&amp", "%41", "v", "/",
    "=", "a/b/c=d", "Z", "z", "2015-08-30T12:36:00Z", "日本", "x y+z", "*", "'quoted'",
]
WHITESPACE_VALUES = [
    "  leading", "trailing   ", "  both  ", "inner   spaces", "tab\tseparated", "multi\n  line\n\tvalue",
    "crlf\r\n folded", "   ", "", "a  b\t\tc \n d", "\tx\t",
]
PLAIN_HEADERS = [
    ("Content-Type", ["application/json", "text/plain; charset=utf-8", "application/x-amz-json-1.0",
                      "application/x-www-form-urlencoded"]),
    ("X-Amz-Meta-Note", WHITESPACE_VALUES + ["café", "naïve ünïcode", "Ω"]),
    ("X-Custom", WHITESPACE_VALUES),
    ("My-Header", ["v1", "v2", "value, with, commas", " spaced "]),
    ("Range", ["bytes=0-9", "bytes=100-"]),
    ("X-Amz-Target", ["secretsmanager.GetSecretValue", "AmazonSQS.SendMessage"]),
    ("Accept", ["", "*/*", "application/json"]),
    ("If-None-Match", ['"etag"', "*"]),
    ("X-Amz-Storage-Class", ["STANDARD", "INTELLIGENT_TIERING"]),
    ("Cache-Control", ["no-cache", "max-age=0,  must-revalidate"]),
    # Never signed (botocore SIGNED_HEADERS_BLACKLIST).
    ("User-Agent", ["rolloutd/1.0 (linux)", "Boto3/1.0"]),
    ("Expect", ["100-continue"]),
    ("X-Amzn-Trace-Id", ["Root=1-5759e988-bd862e3fe1be46a994272793"]),
    ("Connection", ["keep-alive", "close"]),
    ("Transfer-Encoding", ["chunked"]),
    ("Keep-Alive", ["timeout=5"]),
    ("TE", ["trailers"]),
    # Replaced by the signer.
    ("Authorization", ["AWS4-HMAC-SHA256 stale"]),
    ("X-Amz-Date", ["20000101T000000Z"]),
]


def escape(value):
    data = value if isinstance(value, bytes) else value.encode("utf-8")
    if not data:
        return "-"
    if data == b"-":
        return "%2D"
    return "".join(chr(b) if 0x21 <= b <= 0x7E and b != 0x25 else f"%{b:02X}" for b in data)


def unescape(token):
    if token == "-":
        return b""
    out = bytearray()
    i = 0
    while i < len(token):
        if token[i] == "%":
            out.append(int(token[i + 1:i + 3], 16))
            i += 3
        else:
            out.append(ord(token[i]))
            i += 1
    return bytes(out)


def random_case_name(rng, name):
    styles = [name, name.lower(), name.upper(), "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in name)]
    return rng.choice(styles)


def random_endpoint(rng, service, region):
    roll = rng.random()
    if roll < 0.12:
        return "http", rng.choice(["localhost:4566", "127.0.0.1:9000", "[::1]:4566", "minio.internal:9000"])
    if roll < 0.17:
        return "https", "vpce-0abc.s3.us-east-1.vpce.amazonaws.com:8443"
    if service == "s3":
        return "https", rng.choice([f"bucket-{rng.randint(1, 99)}.s3.{region}.amazonaws.com", f"s3.{region}.amazonaws.com"])
    return "https", f"{service}.{region}.amazonaws.com"


def random_path(rng, service):
    if service == "lambda" and rng.random() < 0.5:
        return f"/2015-03-31/functions/arn:aws:lambda:us-east-1:{rng.randint(10**11, 10**12 - 1)}:function:fn-{rng.randint(1, 9)}/invocations"
    if rng.random() < 0.08:
        return rng.choice(["/", "//", "/./", "/../"])
    segments = [rng.choice(SEGMENTS) for _ in range(rng.randint(1, 6))]
    path = "/" + "/".join(segments)
    return path + ("/" if rng.random() < 0.2 else "")


def random_text(rng, alphabet, low, high):
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(low, high)))


def random_query(rng):
    items = []
    for _ in range(rng.choice([0, 0, 1, 2, 3, 4, 6])):
        if items and rng.random() < 0.25:
            name = rng.choice(items)[0]  # a repeated key
        else:
            name = rng.choice(QUERY_NAMES)
        value = rng.choice(QUERY_VALUES) if rng.random() < 0.8 else random_text(rng, string.printable[:94] + " ü", 0, 8)
        items.append((name, value))
    return items


def random_headers(rng, service, host, token):
    headers = []
    for _ in range(rng.randint(0, 6)):
        name, values = rng.choice(PLAIN_HEADERS)
        headers.append((random_case_name(rng, name), rng.choice(values)))
    if rng.random() < 0.25:
        headers.append((random_case_name(rng, "Host"), host))
    if rng.random() < 0.2:
        # With a session token the signer replaces it; without, it is an ordinary signed header.
        headers.append((random_case_name(rng, "X-Amz-Security-Token"), "stale-token" if token else "caller-token"))
    if service == "s3" and rng.random() < 0.2:
        headers.append((random_case_name(rng, "X-Amz-Content-SHA256"), "stale"))
    rng.shuffle(headers)
    return headers


def random_body(rng):
    roll = rng.random()
    if roll < 0.4:
        return b""
    if roll < 0.75:
        return random_text(rng, string.ascii_letters + string.digits + " {}\":,=&\nü€", 1, 80).encode("utf-8")
    return bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))


FIXED_INSTANTS = [1440938160, 1369353600, 951782400, 1456704000, 946684799, 4107542399, 0]


def make_case(rng, index):
    service = rng.choice(SERVICES)
    region = rng.choice(REGIONS)
    access_key = "AKIA" + random_text(rng, string.ascii_uppercase + string.digits, 16, 16)
    secret_key = random_text(rng, string.ascii_letters + string.digits + "+/", 40, 40)
    token = random_text(rng, string.ascii_letters + string.digits + "+/=", 40, 120) if rng.random() < 0.5 else None
    seconds = FIXED_INSTANTS[index] if index < len(FIXED_INSTANTS) else rng.randint(0, 4102444799)
    method = rng.choice(METHODS)
    scheme, host = random_endpoint(rng, service, region)
    raw_path = random_path(rng, service)
    path = encode_path(raw_path)
    query = random_query(rng)
    headers = random_headers(rng, service, host, token)
    body = random_body(rng)
    unsigned = service == "s3" and scheme == "https" and rng.random() < 0.4
    url = wire_url(scheme, host, path, query)
    when = datetime.fromtimestamp(seconds, timezone.utc)
    signed = sign(
        method=method, url=url, headers=headers, body=body, service=service, region=region,
        access_key=access_key, secret_key=secret_key, token=token, when=when, unsigned_payload=unsigned,
    )
    checked = {"x-amz-date", "x-amz-security-token", "x-amz-content-sha256"}
    expected = [(n.lower(), v) for n, v in signed.headers if n.lower() in checked]
    explicit_hosts = [v for n, v in headers if n.lower() == "host"]
    expected += [("host", v) for v in explicit_hosts or [_host_from_url(url)]]
    lines = [
        ("case", f"{index:04d}"), ("service", service), ("region", region),
        ("access-key-id", access_key), ("secret-access-key", secret_key),
    ]
    if token:
        lines.append(("session-token", token))
    lines += [
        ("seconds", str(seconds)), ("amz-date", when.strftime("%Y%m%dT%H%M%SZ")),
        ("method", method), ("scheme", scheme), ("host", host), ("raw-path", raw_path), ("path", path),
    ]
    lines += [("query", name, value) for name, value in query]
    lines += [("header", name, value) for name, value in headers]
    lines += [("body", body), ("payload", "unsigned" if unsigned else "sha256"), ("url", url)]
    lines += [("expect-header", name, value) for name, value in expected]
    lines += [("authorization", signed.authorization), ("end",)]
    return "".join(" ".join([fields[0]] + [escape(f) for f in fields[1:]]) + "\n" for fields in lines)


def generate(seed=SEED, count=COUNT):
    rng = random.Random(seed)
    header = (
        "# SigV4 cases signed by botocore; generated by tests/sigv4/crosscheck_cases.py "
        f"(seed {seed}, {count} cases). Do not edit.\n"
    )
    return header + "".join(make_case(rng, index) for index in range(count))


def parse(text):
    """The committed file back into dicts (lists for query, header, expect-header)."""
    cases, current = [], None
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, *tokens = line.split(" ")
        values = [unescape(t) for t in tokens]
        if key == "case":
            current = {"id": values[0].decode(), "query": [], "header": [], "expect-header": []}
        elif key == "end":
            cases.append(current)
        elif key in ("query", "header", "expect-header"):
            current[key].append((values[0].decode(), values[1].decode()))
        elif key == "body":
            current[key] = values[0]
        else:
            current[key] = values[0].decode()
    return cases


def body_sha256(case):
    return sha256(case["body"]).hexdigest()


if __name__ == "__main__":
    CASES_FILE.write_text(generate(), encoding="utf-8")
    print(f"wrote {COUNT} cases to {CASES_FILE}", file=sys.stderr)
