"""Readers for the files under deploy/: the example config, Kubernetes manifests, systemd units
and the Dockerfile. Small on purpose: each parses just what the checks need, and fails loudly on
what it does not understand."""
import json
import re
import shlex
import tomllib
from pathlib import Path

import yaml

from tests.conftest import BIN_DIR, REPO

DEPLOY = REPO / "deploy"
ROLLOUT_TOML = DEPLOY / "rollout.toml"
K8S = DEPLOY / "kubernetes"
SYSTEMD = DEPLOY / "systemd"
_BIN = BIN_DIR if BIN_DIR.is_absolute() else REPO / BIN_DIR
ROLLOUTD = (_BIN / "rolloutd").resolve()
ROLLOUTCTL = (_BIN / "rolloutctl").resolve()
MiB = 1 << 20


def rollout_config():
    """deploy/rollout.toml as a dict."""
    return tomllib.loads(ROLLOUT_TOML.read_text())


def strict_json(path):
    """Parses JSON and refuses duplicate keys (json.load silently keeps the last one)."""

    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        duplicates = {k for k in keys if keys.count(k) > 1}
        assert not duplicates, f"{path}: duplicate keys {sorted(duplicates)}"
        return dict(pairs)

    return json.loads(Path(path).read_text(), object_pairs_hook=no_duplicates)


def yaml_documents(path):
    docs = [d for d in yaml.safe_load_all(Path(path).read_text()) if d is not None]
    assert docs, f"{path} holds no YAML document"
    return docs


def manifest(kind):
    """The one Kubernetes object of `kind` among deploy/kubernetes/*.yaml."""
    found = [
        (path, doc)
        for path in sorted(K8S.glob("*.yaml"))
        for doc in yaml_documents(path)
        if doc.get("kind") == kind
    ]
    assert len(found) == 1, f"expected one {kind} in deploy/kubernetes, found {[str(p) for p, _ in found]}"
    return found[0][1]


def pod_spec():
    """The pod spec of the example: a Pod, or the template of a Deployment/StatefulSet."""
    for kind in ("Pod", "Deployment", "StatefulSet"):
        docs = [d for p in sorted(K8S.glob("*.yaml")) for d in yaml_documents(p) if d.get("kind") == kind]
        if docs:
            assert len(docs) == 1
            return docs[0]["spec"] if kind == "Pod" else docs[0]["spec"]["template"]["spec"]
    raise AssertionError("no Pod, Deployment or StatefulSet in deploy/kubernetes")


def quantity(text):
    """A Kubernetes resource quantity (`48Mi`, `1Gi`, `50m`, `1`, `0.5`) as a number (bytes or cores)."""
    text = str(text)
    suffixes = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40,
                "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "m": 1e-3}
    match = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)([A-Za-z]*)", text)
    assert match and (match[2] == "" or match[2] in suffixes), f"not a quantity: {text!r}"
    return float(match[1]) * suffixes.get(match[2], 1)


def systemd_unit(path):
    """A unit file as {section: {key: [values...]}}, keeping repeated keys in order."""
    sections = {}
    current = None
    for number, raw in enumerate(Path(path).read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        assert not line.endswith("\\"), f"{path}:{number}: continuation lines are not supported here"
        if line.startswith("["):
            assert line.endswith("]"), f"{path}:{number}: {raw!r}"
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None and "=" in line, f"{path}:{number}: {raw!r}"
        key, value = line.split("=", 1)
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def unit_value(unit, section, key):
    """The effective (last) value of a key, or None."""
    values = unit.get(section, {}).get(key)
    return values[-1] if values else None


def seconds(value):
    """A systemd time span (`30`, `30s`, `2min`, `1min 30s`) in seconds."""
    units = {"": 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "ms": 0.001}
    total = 0.0
    parts = re.findall(r"([0-9.]+)\s*([a-z]*)", value)
    assert parts and "".join(n + u for n, u in parts) == value.replace(" ", ""), f"time span {value!r}"
    for number, unit in parts:
        assert unit in units, f"time unit {unit!r} in {value!r}"
        total += float(number) * units[unit]
    return total


class Dockerfile:
    """Instructions of a Dockerfile grouped by stage: [(instruction, arguments)] per FROM."""

    def __init__(self, path):
        self.path = Path(path)
        self.args = {}
        self.stages = []  # dicts: name, base, instructions
        logical = []
        pending = ""
        for raw in self.path.read_text().splitlines():
            stripped = raw.strip()
            if stripped.startswith("#") or (not stripped and pending):
                continue  # comments (also inside continuations) and blank continuation lines
            if not stripped:
                continue
            if stripped.endswith("\\"):
                pending += stripped[:-1] + " "
                continue
            logical.append(pending + stripped)
            pending = ""
        assert not pending, f"{path}: dangling line continuation"
        for line in logical:
            instruction, _, rest = line.partition(" ")
            instruction = instruction.upper()
            rest = rest.strip()
            if instruction == "ARG" and not self.stages:
                name, _, default = rest.partition("=")
                self.args[name] = default
            elif instruction == "FROM":
                words = rest.split()
                base = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: self.args[m[1] or m[2]], words[0])
                name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
                self.stages.append({"name": name, "base": base, "instructions": []})
            else:
                assert self.stages, f"{path}: {instruction} before the first FROM"
                self.stages[-1]["instructions"].append((instruction, rest))

    def all(self, instruction, stage=-1):
        return [rest for ins, rest in self.stages[stage]["instructions"] if ins == instruction]

    @staticmethod
    def exec_form(rest):
        """The JSON (exec) form of CMD/ENTRYPOINT/HEALTHCHECK CMD as a list; shell form split."""
        rest = rest.strip()
        if rest.startswith("["):
            return json.loads(rest)
        return shlex.split(rest)


def apt_installs(run_lines):
    """Package names passed to `apt-get install` in RUN instructions."""
    packages = []
    for line in run_lines:
        for command in re.split(r"&&|;", line):
            words = command.split()
            if "apt-get" in words and "install" in words:
                after = words[words.index("install") + 1:]
                packages += [w for w in after if not w.startswith("-")]
    return packages
