"""Endpoint and region resolution compared with botocore (SPEC §2.1: "The behaviour must
match botocore's for the same environment and files").

A fixed-seed generator builds a matrix of environments, TOML settings and shared
config/credentials files; for each case botocore (through boto3) creates a client of every
service the daemon calls and reports ``client.meta.endpoint_url`` and
``client.meta.region_name``, or the error it raises. The matrix, with botocore's answers, is
committed as ``tests/endpoints/matrix.json``; the Swift test
``EndpointsMatrixTests`` runs our resolver over every case and must give the same answers.
This test regenerates the matrix and fails when it no longer matches the committed file
(botocore upgraded, generator changed): regenerate with

    python3 tests/endpoints/test_botocore_matrix.py

Where we deliberately differ from botocore, the case is computed by botocore on an
equivalent input and the raw botocore answer is kept beside it under ``botocore``, with the
deviation named in ``deviations``:

- ``AWS_REGION``: SPEC reads it before ``AWS_DEFAULT_REGION`` (as the AWS CLI v2 and the
  other SDKs do); botocore ignores it. Equivalent input: its value as ``AWS_DEFAULT_REGION``.
- empty ``AWS_REGION`` / ``AWS_DEFAULT_REGION`` / ``AWS_PROFILE``: unset for us; botocore
  uses the empty string (an invalid endpoint ``https://sqs..amazonaws.com`` or
  ``ProfileNotFound('')``). Equivalent input: the variable removed.
- a ``default`` profile named explicitly (TOML or ``AWS_PROFILE``) that no file defines:
  an empty profile for us, ``ProfileNotFound`` for botocore. Equivalent input: no profile named.

``AWS_REGION_<SERVICE_ID>`` exists only in SPEC, so the matrix never sets it. Cases in which
botocore has no region for some service (``NoRegionError``) are left out; the Swift unit
tests cover them.
"""
import json
import os
import random
import sys
import tempfile
from pathlib import Path

import pytest

boto3 = pytest.importorskip("boto3")
import botocore  # noqa: E402
import botocore.exceptions  # noqa: E402
import botocore.session  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
# Beside this file rather than in Tests/RolloutAWSTests/Fixtures: SwiftPM warns about files a
# target does not declare, and Package.swift does not exclude that folder.
FIXTURE = Path(__file__).resolve().parent / "matrix.json"
SEED = 20260301
CASES = 320

# (our key in `config explain` and the services section, boto3 client name, env suffix)
SERVICES = [
    ("s3", "s3", "S3"),
    ("sqs", "sqs", "SQS"),
    ("secrets_manager", "secretsmanager", "SECRETS_MANAGER"),
    ("lambda", "lambda", "LAMBDA"),
    ("cloudwatch", "cloudwatch", "CLOUDWATCH"),
    ("sns", "sns", "SNS"),
    ("codedeploy", "codedeploy", "CODEDEPLOY"),
    ("sts", "sts", "STS"),
    ("dynamodb", "dynamodb", "DYNAMODB"),
]
REGIONS = [
    "us-west-2", "us-east-1", "eu-central-1", "ap-southeast-2", "sa-east-1", "cn-north-1",
    "cn-northwest-1", "us-gov-west-1", "us-gov-east-1", "us-iso-east-1", "us-isob-east-1",
    "eu-isoe-west-1", "us-isof-south-1", "eusc-de-east-1", "xx-fake-1", "aws-global",
]
PROFILES = ["default", "dev", "ci", "my dev", "ghost"]  # "ghost" is never defined
SERVICES_SECTIONS = ["local", "mixed", "empty", "nosuch"]  # "nosuch" is never defined
INVALID_URLS = ["localhost:4566", "http://bad host.test", "http://x.test # note"]

_LOADER = None


def slug(text):
    return text.replace("_", "-").replace(" ", "-")


def maybe_invalid(rng, url):
    return rng.choice(INVALID_URLS) if rng.random() < 0.04 else url


# ---------------------------------------------------------------------------------------------
# The generator


def gen_pair(rng, key, value):
    name = key.upper() if rng.random() < 0.06 else key
    return name + rng.choice([" = ", "=", " =", "= ", ": "]) + value


def gen_profile_lines(rng, name, where):
    lines = []
    if rng.random() < 0.5:
        region = rng.choice(REGIONS)
        if rng.random() < 0.1:
            region += " # primary"
        lines.append([gen_pair(rng, "region", region)])
    if rng.random() < 0.3:
        lines.append([gen_pair(rng, "endpoint_url", maybe_invalid(rng, f"https://{where}-{slug(name)}.test/base/"))])
    if rng.random() < 0.45:
        lines.append([gen_pair(rng, "services", rng.choice(SERVICES_SECTIONS[:2] * 5 + SERVICES_SECTIONS[2:]))])
    if rng.random() < 0.15:
        lines.append([gen_pair(rng, "ignore_configured_endpoint_urls", rng.choice(["true", "True", "TRUE", "false"]))])
    if rng.random() < 0.1:
        lines.append(["s3 =", "  addressing_style = path"])
    if where == "creds" or rng.random() < 0.3:
        lines.append(["aws_access_key_id = AKIDEXAMPLE", "aws_secret_access_key = example-secret"])
    if rng.random() < 0.2:
        lines.append([rng.choice(["# a comment", "; a comment", "  # indented comment"])])
    rng.shuffle(lines)
    return [line for group in lines for line in group]


def gen_services_lines(rng, name):
    lines = []
    if name == "empty":
        return lines
    if rng.random() < 0.4:
        lines.append(gen_pair(rng, "endpoint_url", f"http://{name}-top.test:4566"))
    for key, _, _ in SERVICES:
        if rng.random() >= 0.35:
            continue
        indent = rng.choice(["  ", "\t", "    "])
        inner = "Endpoint_URL" if rng.random() < 0.04 else "endpoint_url"
        sub = [f"{indent}{inner} = {maybe_invalid(rng, f'http://{name}-{slug(key)}.test:4566')}"]
        if rng.random() < 0.2:
            sub.insert(0, f"{indent}signature_version = s3v4")
        if rng.random() < 0.15:
            sub.append(f"{indent}# comment inside a sub-section")
        lines.append((key.upper() if rng.random() < 0.05 else key) + rng.choice([" =", "="]))
        lines.extend(sub)
    return lines


def gen_config(rng):
    sections = []
    if rng.random() < 0.7:
        sections.append(("[default]", gen_profile_lines(rng, "default", "profile")))
    if rng.random() < 0.25:
        sections.append(("[profile default]", gen_profile_lines(rng, "default", "pdefault")))
    if rng.random() < 0.7:
        sections.append(("[profile dev]", gen_profile_lines(rng, "dev", "profile")))
    if rng.random() < 0.5:
        sections.append(("[profile ci]", gen_profile_lines(rng, "ci", "profile")))
    if rng.random() < 0.15:
        sections.append(('[profile "my dev"]', gen_profile_lines(rng, "my dev", "profile")))
    if rng.random() < 0.1:
        sections.append(("[sso-session corp]", ["sso_start_url = https://corp.test/start", "sso_region = us-east-1"]))
    for name, chance in (("local", 0.6), ("mixed", 0.4), ("empty", 0.15)):
        if rng.random() < chance:
            sections.append((f"[services {name}]", gen_services_lines(rng, name)))
    if rng.random() < 0.05:
        sections.append(("[DEFAULT]", [gen_pair(rng, "region", rng.choice(REGIONS))]))
    rng.shuffle(sections)
    if rng.random() < 0.02 and sections:
        sections.append((sections[0][0], ["region = us-west-2"]))  # a repeated section
    if rng.random() < 0.02 and sections:
        sections[0][1].append("a line without a delimiter")
    text = "# generated\n" if rng.random() < 0.3 else ""
    for header, lines in sections:
        text += header + "\n" + "".join(line + "\n" for line in lines)
        if rng.random() < 0.5:
            text += "\n"
    return text


def gen_credentials(rng):
    text = ""
    for name, chance in (("default", 0.5), ("dev", 0.3), ("ci", 0.1)):
        if rng.random() < chance:
            lines = ["aws_access_key_id = AKIDEXAMPLE", "aws_secret_access_key = example-secret"]
            if rng.random() < 0.15:
                lines.append(f"region = {rng.choice(REGIONS)}")
            if rng.random() < 0.1:
                lines.append(f"endpoint_url = http://creds-{name}.test")
            if rng.random() < 0.05:
                lines.append(f"services = {rng.choice(SERVICES_SECTIONS)}")
            text += f"[{name}]\n" + "".join(line + "\n" for line in lines)
    return text


def gen_inputs(rng):
    toml = {}
    if rng.random() < 0.2:
        toml["region"] = rng.choice(REGIONS)
    if rng.random() < 0.15:
        toml["profile"] = rng.choice(["dev"] * 3 + PROFILES)
    endpoints = {key: f"http://toml-{slug(key)}.test:4566" for key, _, _ in SERVICES if rng.random() < 0.06}
    if endpoints:
        toml["endpoints"] = endpoints
    env = {}
    if rng.random() < 0.3:
        env["AWS_PROFILE"] = rng.choice(["dev"] * 4 + ["ci"] * 2 + PROFILES + [""])
    if rng.random() < 0.45:
        env["AWS_DEFAULT_REGION"] = rng.choice(REGIONS + [""])
    if rng.random() < 0.3:
        env["AWS_REGION"] = rng.choice(REGIONS + [""])
    if rng.random() < 0.3:
        env["AWS_ENDPOINT_URL"] = rng.choice(["http://env-global.test:4566"] * 4 + ["", rng.choice(INVALID_URLS)])
    for key, _, suffix in SERVICES:
        if rng.random() < 0.12:
            env[f"AWS_ENDPOINT_URL_{suffix}"] = rng.choice([f"http://env-{slug(key)}.test:4566"] * 3 + [""])
    if rng.random() < 0.15:
        env["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] = rng.choice(["true", "TRUE", "false", ""])
    return {"toml": toml, "env": env, "config": gen_config(rng), "credentials": gen_credentials(rng)}


# ---------------------------------------------------------------------------------------------
# botocore's answers


def loader():
    global _LOADER
    if _LOADER is None:
        _LOADER = botocore.session.get_session().get_component("data_loader")
    return _LOADER


def classify(error):
    exceptions = botocore.exceptions
    if isinstance(error, exceptions.ProfileNotFound):
        return "profileNotFound"
    if isinstance(error, exceptions.InvalidConfigError):
        return "servicesSectionNotFound"
    if isinstance(error, exceptions.InvalidRegionError):
        return "invalidRegion"
    if isinstance(error, exceptions.ConfigParseError):
        return "configParse"
    if isinstance(error, exceptions.NoRegionError):
        return "noRegion"
    if isinstance(error, ValueError) and "Invalid endpoint" in str(error):
        return "invalidEndpointURL"
    raise error


def run_botocore(inputs, directory):
    """Per service: {"endpointUrl", "region"} or {"error"}; and the profiles botocore sees."""
    config = Path(directory) / "config"
    credentials = Path(directory) / "credentials"
    config.write_text(inputs["config"])
    credentials.write_text(inputs["credentials"])
    saved = dict(os.environ)
    for name in list(os.environ):
        if name.startswith("AWS_"):
            del os.environ[name]
    os.environ.update(inputs["env"])
    os.environ.update(
        AWS_CONFIG_FILE=str(config), AWS_SHARED_CREDENTIALS_FILE=str(credentials), AWS_EC2_METADATA_DISABLED="true"
    )
    try:
        core = botocore.session.Session()
        core.register_component("data_loader", loader())
        try:
            profiles = set(core.available_profiles)
        except botocore.exceptions.ConfigParseError:
            profiles = None
        toml = inputs["toml"]
        session = boto3.session.Session(botocore_session=core, profile_name=toml.get("profile"))
        # boto3 appends its data path to the shared loader on every session; keep it once.
        loader().search_paths[:] = list(dict.fromkeys(loader().search_paths))
        answers = {}
        for key, client_name, _ in SERVICES:
            try:
                client = session.client(
                    client_name,
                    region_name=toml.get("region"),
                    endpoint_url=toml.get("endpoints", {}).get(key),
                    aws_access_key_id="AKIDEXAMPLE",
                    aws_secret_access_key="not-a-secret",
                )
                answers[key] = {"endpointUrl": client.meta.endpoint_url, "region": client.meta.region_name}
            except Exception as error:  # noqa: BLE001 - classified or re-raised
                answers[key] = {"error": classify(error)}
        return answers, profiles
    finally:
        os.environ.clear()
        os.environ.update(saved)


def normalized(inputs, profiles):
    """The input botocore answers for us (see the module doc), and the deviations applied."""
    toml = json.loads(json.dumps(inputs["toml"]))
    env = dict(inputs["env"])
    deviations = []
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        if env.get(name) == "":
            del env[name]
            deviations.append(f"empty {name} is unset")
    if "AWS_REGION" in env:
        env["AWS_DEFAULT_REGION"] = env.pop("AWS_REGION")
        deviations.append("AWS_REGION is read before AWS_DEFAULT_REGION")
    named = toml.get("profile") or env.get("AWS_PROFILE")
    if named == "default" and profiles is not None and "default" not in profiles:
        toml.pop("profile", None)
        env.pop("AWS_PROFILE", None)
        deviations.append("an absent default profile named explicitly is empty")
    return dict(inputs, toml=toml, env=env), deviations


def summary(answers):
    """All services' answers, or the first error in our service order (as our resolver throws)."""
    for key, _, _ in SERVICES:
        error = answers[key].get("error")
        if error:
            scoped = error in ("invalidRegion", "invalidEndpointURL", "servicesSectionNotFound")
            return {"error": error, "service": key} if scoped else {"error": error}
    return {"services": answers}


def build_matrix():
    rng = random.Random(SEED)
    cases = []
    with tempfile.TemporaryDirectory() as directory:
        while len(cases) < CASES:
            inputs = gen_inputs(rng)
            _, profiles = run_botocore(inputs, directory)
            equivalent, deviations = normalized(inputs, profiles)
            answers, _ = run_botocore(equivalent, directory)
            if any(answer.get("error") == "noRegion" for answer in answers.values()):
                continue
            case = dict(id=len(cases), **inputs, expected=summary(answers))
            if deviations:
                case["deviations"] = deviations
                raw, _ = run_botocore(inputs, directory)
                if summary(raw) != case["expected"]:
                    case["botocore"] = summary(raw)
            cases.append(case)
    return {
        "about": "Generated by tests/endpoints/test_botocore_matrix.py; see its doc. Do not edit.",
        "botocore": botocore.__version__,
        "seed": SEED,
        "cases": cases,
    }


def render(matrix):
    """Compact JSON with one case per line, so a diff shows which cases changed."""
    def dump(value):
        return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    head = {key: value for key, value in matrix.items() if key != "cases"}
    lines = ",\n".join(dump(case) for case in matrix["cases"])
    return dump(head)[:-1] + ',"cases":[\n' + lines + "\n]}\n"


# ---------------------------------------------------------------------------------------------
# Tests


def test_fixture_matches_botocore():
    assert FIXTURE.exists(), f"missing {FIXTURE}; run python3 {Path(__file__).relative_to(REPO)}"
    committed = json.loads(FIXTURE.read_text())
    current = build_matrix()
    stale = f"{FIXTURE.name} (botocore {committed['botocore']}) no longer matches botocore {current['botocore']}"
    assert committed["cases"] == current["cases"], f"{stale}; run python3 {Path(__file__).relative_to(REPO)}"
    if committed["botocore"] == current["botocore"]:
        assert FIXTURE.read_text() == render(current), "the fixture is not in its generated form; regenerate it"


def test_matrix_covers_the_inputs():
    matrix = json.loads(FIXTURE.read_text())
    cases = matrix["cases"]
    assert len(cases) >= 200
    env_names = {name for case in cases for name in case["env"]}
    for name in ("AWS_PROFILE", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_ENDPOINT_URL",
                 "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_ENDPOINT_URL_SECRETS_MANAGER"):
        assert name in env_names
    assert any(value == "" for case in cases for value in case["env"].values())
    configs = "".join(case["config"] for case in cases)
    for text in ("[profile default]", "[services local]", "[DEFAULT]", "# primary", "Endpoint_URL", "\t"):
        assert text in configs
    errors = {case["expected"].get("error") for case in cases}
    assert {"profileNotFound", "servicesSectionNotFound", "invalidRegion", "invalidEndpointURL",
            "configParse"} <= errors
    assert sum("services" in case["expected"] for case in cases) >= 150


@pytest.fixture()
def botocore_in(tmp_path):
    def answers(env, config="", credentials="", **toml):
        result, _ = run_botocore({"toml": toml, "env": env, "config": config, "credentials": credentials}, tmp_path)
        return result
    return answers


def test_the_botocore_behaviour_our_deviations_rest_on(botocore_in):
    # AWS_REGION is not read by botocore.
    assert botocore_in({"AWS_REGION": "eu-west-1"})["sqs"] == {"error": "noRegion"}
    # An empty AWS_DEFAULT_REGION is used as the region (and breaks the endpoint).
    empty = botocore_in({"AWS_DEFAULT_REGION": ""}, "[default]\nregion = eu-west-1\n")
    assert empty["sqs"] == {"error": "invalidEndpointURL"}
    # An empty AWS_PROFILE and an absent explicit default both raise ProfileNotFound.
    assert botocore_in({"AWS_PROFILE": "", "AWS_DEFAULT_REGION": "us-west-2"})["s3"] == {"error": "profileNotFound"}
    assert botocore_in({"AWS_DEFAULT_REGION": "us-west-2"}, profile="default")["s3"] == {"error": "profileNotFound"}
    # botocore reads AWS_DEFAULT_PROFILE ahead of AWS_PROFILE; SPEC (and we) do not.
    both = botocore_in({"AWS_DEFAULT_PROFILE": "ci", "AWS_PROFILE": "dev"},
                       "[profile dev]\nregion = eu-west-1\n[profile ci]\nregion = eu-west-2\n")
    assert both["sqs"]["region"] == "eu-west-2"
    # With no region at all: S3 and STS fall back to their global endpoints.
    nothing = botocore_in({})
    assert nothing["s3"] == {"endpointUrl": "https://s3.amazonaws.com", "region": "us-east-1"}
    assert nothing["sts"] == {"endpointUrl": "https://sts.amazonaws.com", "region": "aws-global"}
    assert nothing["lambda"] == {"error": "noRegion"}
    # A services-section region is not read by botocore.
    services = botocore_in({"AWS_DEFAULT_REGION": "us-west-2"},
                           "[default]\nservices = s\n[services s]\nsqs =\n  region = eu-west-1\n")
    assert services["sqs"] == {"endpointUrl": "https://sqs.us-west-2.amazonaws.com", "region": "us-west-2"}


if __name__ == "__main__":
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    FIXTURE.write_text(render(build_matrix()))
    print(f"wrote {FIXTURE}", file=sys.stderr)
