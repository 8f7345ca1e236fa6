"""deploy/: the example config, the Kubernetes sidecar example and the Dockerfile.

No Docker engine runs on the test machines (the docker CLI may be there, but only the client),
so the image is not built here: the Dockerfile is parsed and checked instead, and the
binaries it would build are the ones `make test` built and tests below run. Kubernetes is not
available either: the manifests are parsed and checked against the config they carry.
"""
import os
import re
import subprocess
import tomllib

import pytest

from .support import (
    DEPLOY, K8S, MiB, REPO, ROLLOUT_TOML, ROLLOUTCTL, Dockerfile, apt_installs, manifest, pod_spec,
    quantity, rollout_config, strict_json, yaml_documents,
)

# Measured RSS of rolloutd (see the pod's resource comment): idle 33-38 MiB, 41 MiB at the peak
# of a 256 MiB upload with 8 MiB parts x 4.
MEASURED_PEAK_RSS = 41 * MiB
# Memory bound while uploading: 32 MiB + upload_concurrency x multipart_chunk_bytes.
BASE_RSS_BOUND = 32 * MiB


# ----------------------------------------------------------------------------- all files parse

def test_every_deploy_file_parses():
    files = sorted(p for p in DEPLOY.rglob("*") if p.is_file())
    kinds = {p.suffix for p in files}
    assert {".json", ".yaml", ".toml"} <= kinds, kinds
    for path in files:
        if path.suffix == ".json":
            strict_json(path)
        elif path.suffix in (".yaml", ".yml"):
            for doc in yaml_documents(path):
                assert isinstance(doc, dict) and doc.get("apiVersion") and doc.get("kind"), path
        elif path.suffix == ".toml":
            tomllib.loads(path.read_text())


def test_example_config_passes_config_check(tmp_path):
    ok = subprocess.run([str(ROLLOUTCTL), "config", "check", "--config", str(ROLLOUT_TOML)],
                        capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.startswith("ok:"), ok.stdout
    # The same check refuses a broken copy, so the pass above means something.
    broken = tmp_path / "broken.toml"
    broken.write_text(ROLLOUT_TOML.read_text().replace("upload_concurrency = 4", "upload_concurrency = 0"))
    bad = subprocess.run([str(ROLLOUTCTL), "config", "check", "--config", str(broken)],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 4 and "upload_concurrency" in bad.stdout + bad.stderr, bad


def test_example_config_uses_the_deployment_paths():
    server = rollout_config()["server"]
    assert server["socket"] == "/run/rolloutd/rollout.sock"
    assert rollout_config()["cloud"]["provider"] == "aws"
    for path in [server["socket"], server["state_dir"], *server["file_roots"]]:
        assert path.startswith("/"), f"{path}: deployments need absolute paths"


# ----------------------------------------------------------------------------- Kubernetes

def sidecar_and_apps():
    spec = pod_spec()
    native = [c for c in spec.get("initContainers", []) if c.get("restartPolicy") == "Always"]
    plain = [c for c in spec["containers"] if "rolloutd" in c["image"]]
    sidecars = native + plain
    assert len(sidecars) == 1, "exactly one rolloutd container"
    apps = [c for c in spec["containers"] if c is not sidecars[0]]
    assert apps, "an application container next to the sidecar"
    return spec, sidecars[0], apps, bool(native)


def configmap_config():
    configmap = manifest("ConfigMap")
    return configmap, tomllib.loads(configmap["data"]["rollout.toml"])


def mounts(container):
    return {m["name"]: m for m in container.get("volumeMounts", [])}


def test_configmap_carries_deploy_rollout_toml_verbatim():
    configmap, _ = configmap_config()
    assert configmap["data"]["rollout.toml"] == ROLLOUT_TOML.read_text(), \
        "deploy/kubernetes/configmap.yaml must carry deploy/rollout.toml unchanged"


def test_socket_files_and_config_volumes_are_shared():
    spec, sidecar, apps, _ = sidecar_and_apps()
    _, config = configmap_config()
    server = config["server"]
    volumes = {v["name"]: v for v in spec["volumes"]}

    def volume_at(container, path):
        names = [n for n, m in mounts(container).items() if m["mountPath"] == path]
        assert names, f"{container['name']} mounts nothing at {path}"
        return names[0]

    socket_dir = os.path.dirname(server["socket"])
    socket_volume = volume_at(sidecar, socket_dir)
    assert "emptyDir" in volumes[socket_volume], "the socket lives in an emptyDir"
    files_volume = volume_at(sidecar, server["file_roots"][0])
    assert "emptyDir" in volumes[files_volume], "the files live in an emptyDir"
    for app in apps:
        # Same volume at the same path: socket and `path` params mean the same in both containers.
        assert volume_at(app, socket_dir) == socket_volume
        assert volume_at(app, server["file_roots"][0]) == files_volume
        env = {e["name"]: e.get("value") for e in app.get("env", [])}
        assert env.get("ROLLOUT_SOCKET") == server["socket"], "the app finds the socket by ROLLOUT_SOCKET"
        assert mounts(app).get(socket_volume, {}).get("readOnly") is not True, "connecting needs write access"

    state_volume = volume_at(sidecar, server["state_dir"])
    assert state_volume not in {v for app in apps for v in mounts(app)}, "the state is the daemon's own"
    config_volume = volume_at(sidecar, "/etc/rolloutd")
    assert volumes[config_volume]["configMap"]["name"] == manifest("ConfigMap")["metadata"]["name"]
    # With a read-only root filesystem every path the daemon writes must be a volume.
    if sidecar["securityContext"].get("readOnlyRootFilesystem"):
        written = {socket_dir, server["state_dir"], *server["file_roots"]}
        assert written <= {m["mountPath"] for m in mounts(sidecar).values()}


def test_sidecar_probes_match_the_config():
    """With [server.http] listen, httpGet probes on its port (SPEC §6.1); without it, the
    exec probes that call `rolloutctl health` on the socket."""
    _, sidecar, _, native = sidecar_and_apps()
    _, config = configmap_config()
    probes = {"readinessProbe": "/readyz", "livenessProbe": "/livez"}
    if native:
        # Startup passes once the daemon serves, even degraded: readiness, not startup, is where
        # missing credentials show.
        probes["startupProbe"] = "/livez"
    listen = config["server"].get("http", {}).get("listen")
    ports = {p["name"]: p["containerPort"] for p in sidecar.get("ports", [])}
    for name, path in probes.items():
        assert name in sidecar, f"rolloutd has no {name}"
        probe = sidecar[name]
        if listen is None:
            command = probe["exec"]["command"]
            assert os.path.basename(command[0]) == "rolloutctl" and "health" in command, command
            assert command[command.index("--socket") + 1] == config["server"]["socket"], command
            assert probe.get("timeoutSeconds", 1) >= 2, f"{name}: give the exec a moment"
            continue
        assert "exec" not in probe, f"{name}: use the HTTP listener, not a process per probe"
        get = probe["httpGet"]
        assert get["path"] == path, (name, get)
        port = ports.get(get["port"], get["port"])
        assert port == int(listen.rsplit(":", 1)[1]), f"{name} probes port {port}, the daemon listens on {listen}"
        assert get.get("scheme", "HTTP") == "HTTP"


def test_http_listener_is_reachable_by_the_kubelet():
    """The kubelet probes the pod IP: a loopback-only listener would fail every probe."""
    _, config = configmap_config()
    listen = config["server"].get("http", {}).get("listen")
    assert listen, "the ConfigMap enables [server.http]"
    host = listen.rsplit(":", 1)[0].strip("[]")
    assert host in ("0.0.0.0", "::"), f"{listen}: the kubelet cannot reach a loopback listener"


def test_termination_grace_outlasts_shutdown_grace():
    spec, sidecar, _, native = sidecar_and_apps()
    _, config = configmap_config()
    grace = config["server"]["shutdown_grace_secs"]
    pod_grace = spec.get("terminationGracePeriodSeconds", 30)
    # The pod's budget covers the app's own shutdown first (a native sidecar is stopped after the
    # app), then the daemon's grace: require real slack beyond the daemon's grace.
    assert pod_grace >= grace + 10, f"terminationGracePeriodSeconds {pod_grace} vs shutdown_grace_secs {grace}"
    if not native:
        assert "preStop" in sidecar.get("lifecycle", {}), "a plain sidecar needs a preStop to outlive the app"


def test_resources_are_sized_from_measured_rss_and_the_upload_bound():
    spec, sidecar, apps, _ = sidecar_and_apps()
    _, config = configmap_config()
    for container in [sidecar, *apps]:
        resources = container.get("resources", {})
        assert {"cpu", "memory"} <= set(resources.get("requests", {})), container["name"]
        assert "memory" in resources.get("limits", {}), container["name"]
    requests, limits = sidecar["resources"]["requests"], sidecar["resources"]["limits"]
    s3 = config["cloud"]["aws"]["s3"]
    bound = BASE_RSS_BOUND + s3.get("upload_concurrency", 4) * s3.get("multipart_chunk_bytes", 16 * MiB)
    assert quantity(limits["memory"]) >= bound, \
        f"memory limit {limits['memory']} below 32 MiB + concurrency x chunk = {bound // MiB} MiB"
    assert MEASURED_PEAK_RSS <= quantity(requests["memory"]) <= quantity(limits["memory"])
    assert 0 < quantity(requests["cpu"]) <= quantity(limits.get("cpu", requests["cpu"]))


def test_security_contexts():
    spec, sidecar, apps, _ = sidecar_and_apps()
    _, config = configmap_config()
    assert spec["securityContext"].get("runAsNonRoot") is True
    for container in [sidecar, *apps]:
        context = container["securityContext"]
        assert context.get("runAsNonRoot", spec["securityContext"].get("runAsNonRoot")) is True
        assert context.get("readOnlyRootFilesystem") is True, container["name"]
        assert context.get("allowPrivilegeEscalation") is False, container["name"]
        assert context.get("capabilities", {}).get("drop") == ["ALL"], container["name"]
        assert not context.get("capabilities", {}).get("add"), container["name"]
        assert context.get("runAsUser", 0) > 0, container["name"]
    daemon_uid = sidecar["securityContext"]["runAsUser"]
    daemon_gid = sidecar["securityContext"]["runAsGroup"]
    for app in apps:
        uid = app["securityContext"]["runAsUser"]
        # The daemon serves its own uid, root, and allowed_uids (SO_PEERCRED).
        assert uid == daemon_uid or uid in config["server"].get("allowed_uids", []), \
            f"app uid {uid} would be refused by the peer check"
        # The socket is created with socket_mode and the daemon's group.
        mode = int(config["server"].get("socket_mode", "0600"), 8)
        if uid != daemon_uid:
            assert mode & 0o060 == 0o060, "socket_mode must let the group connect"
            groups = {spec["securityContext"].get("fsGroup"), app["securityContext"].get("runAsGroup"),
                      *spec["securityContext"].get("supplementalGroups", [])}
            assert daemon_gid in groups, "the app must be in the daemon's group to reach the socket"


def test_service_account_has_the_irsa_role():
    spec, _, _, _ = sidecar_and_apps()
    account = manifest("ServiceAccount")
    assert spec["serviceAccountName"] == account["metadata"]["name"]
    role = account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
    assert re.fullmatch(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+", role), role
    namespaces = {doc["metadata"].get("namespace") for p in K8S.glob("*.yaml") for doc in yaml_documents(p)}
    assert len(namespaces) == 1, f"one namespace for the example: {namespaces}"


# ----------------------------------------------------------------------------- Dockerfile

@pytest.fixture(scope="module")
def dockerfile():
    return Dockerfile(DEPLOY / "Dockerfile")


def swift_toolchain_version():
    out = subprocess.run(["swift", "--version"], capture_output=True, text=True, timeout=60).stdout
    match = re.search(r"Swift version (\d+)\.(\d+)(?:\.(\d+))?", out)
    assert match, out
    return match.groups()


def test_dockerfile_stages_match_the_toolchain_and_debian_release(dockerfile):
    """Built here? No: there is no Docker engine on the test machines, so this parses the file."""
    assert len(dockerfile.stages) >= 2, "multi-stage build"
    build, runtime = dockerfile.stages[0], dockerfile.stages[-1]
    image, _, tag = build["base"].partition(":")
    assert image == "swift", build["base"]
    match = re.fullmatch(r"(\d+)\.(\d+)(?:\.(\d+))?-(\w+)", tag)
    assert match, f"pin a toolchain version and distribution: {build['base']}"
    major, minor, patch = swift_toolchain_version()
    assert (match[1], match[2]) == (major, minor), f"{build['base']} vs local Swift {major}.{minor}"
    if match[3] and patch:
        assert match[3] == patch, f"{build['base']} vs local Swift {major}.{minor}.{patch}"
    codename = match[4]
    assert runtime["base"] == f"debian:{codename}-slim", \
        f"run on the build image's Debian release: {runtime['base']} vs {codename}"


def test_dockerfile_builds_the_real_products(dockerfile):
    package = (REPO / "Package.swift").read_text()
    products = set(re.findall(r'\.executable\(name:\s*"([^"]+)"', package))
    runs = " ".join(dockerfile.all("RUN", stage=0))
    built = set(re.findall(r"--product\s+(\S+)", runs))
    assert built == {"rolloutd", "rolloutctl"} and built <= products, (built, products)
    assert "-c release" in runs
    dev = set(apt_installs(dockerfile.all("RUN", stage=0)))
    assert {"libcurl4-openssl-dev", "libssl-dev", "libsqlite3-dev", "pkg-config"} <= dev, dev


def test_dockerfile_copies_everything_the_manifest_needs(dockerfile):
    copied = []
    for rest in dockerfile.all("COPY", stage=0):
        words = rest.split()
        assert not any(w.startswith("--from") for w in words)
        for source in words[:-1]:
            assert (REPO / source).exists(), f"COPY {source}: not in the repository"
            copied.append(REPO / source)

    def is_copied(path):
        return any(path == c or c in path.parents for c in copied)

    package = (REPO / "Package.swift").read_text()
    assert is_copied(REPO / "Package.swift")
    # SwiftPM checks every target's directory when it loads the manifest.
    for kind, name, path in re.findall(
            r"\.(target|executableTarget|systemLibrary|testTarget)\(\s*name:\s*\"([^\"]+)\"(?:,\s*path:\s*\"([^\"]+)\")?", package):
        directory = REPO / path if path else REPO / ("Tests" if kind == "testTarget" else "Sources") / name
        assert directory.is_dir() and is_copied(directory), f"target {name}: {directory} is not copied"
    # Symlinks inside what is copied must point at something that is copied too.
    for base in copied:
        for path in [base, *base.rglob("*")] if base.is_dir() else [base]:
            if path.is_symlink():
                target = path.resolve()
                assert is_copied(target), f"{path} -> {target} is not in the image's build context"


def test_dockerfile_runtime_stage(dockerfile):
    config = rollout_config()["server"]
    runs = dockerfile.all("RUN")
    packages = apt_installs(runs)
    assert {"libcurl4", "libssl3", "libsqlite3-0", "ca-certificates"} <= set(packages), packages
    assert not [p for p in packages if p.endswith("-dev") or p in ("build-essential", "gcc", "pkg-config")], \
        f"the runtime stage installs build packages: {packages}"
    assert "--no-install-recommends" in " ".join(runs)
    # Either the Swift runtime is linked in (--static-swift-stdlib) or it is copied over.
    static = "--static-swift-stdlib" in " ".join(dockerfile.all("RUN", stage=0))
    copies = " ".join(dockerfile.all("COPY"))
    assert static or "/usr/lib/swift" in copies, "the runtime stage has no Swift runtime"

    users = dockerfile.all("USER")
    assert users, "the runtime stage must switch to a non-root user"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0") and (not user.isdigit() or int(user) >= 1000), user

    healthcheck = dockerfile.all("HEALTHCHECK")
    assert len(healthcheck) == 1
    command = Dockerfile.exec_form(healthcheck[0].split("CMD", 1)[1])
    assert os.path.basename(command[0]) == "rolloutctl" and "health" in command, command
    assert command[command.index("--socket") + 1] == config["socket"], command

    assert dockerfile.all("STOPSIGNAL") == ["SIGTERM"]
    entrypoint = Dockerfile.exec_form(dockerfile.all("ENTRYPOINT")[-1])
    cmd = Dockerfile.exec_form(dockerfile.all("CMD")[-1])
    assert entrypoint == ["rolloutd", "--config"] and cmd == ["/etc/rolloutd/rollout.toml"], (entrypoint, cmd)
    assert "deploy/rollout.toml /etc/rolloutd/rollout.toml" in copies

    volumes = set()
    for rest in dockerfile.all("VOLUME"):
        volumes |= set(Dockerfile.exec_form(rest))
    expected = {os.path.dirname(config["socket"]), config["state_dir"], *config["file_roots"]}
    assert expected <= volumes, f"volumes {volumes} must hold {expected}"


# ----------------------------------------------------------------------------- README

def test_readme_deployment_section_uses_these_files():
    readme = (REPO / "README.md").read_text()
    match = re.search(r"^## Deployment\n(.*?)(?=^## )", readme, re.S | re.M)
    assert match, "README.md has no '## Deployment' section"
    section = match[1]
    mentioned = set(re.findall(r"deploy/[\w./-]+\w", section))
    for path in mentioned:
        assert (REPO / path).exists(), f"README mentions {path}, which does not exist"
    shipped = {p.relative_to(REPO).as_posix() for p in DEPLOY.rglob("*") if p.is_file()}
    named = {p for p in shipped if p in mentioned or os.path.basename(p) in section}
    assert named == shipped, f"README's Deployment section does not mention {sorted(shipped - named)}"
    assert "Docker engine" in section, "say that the image is not built by the tests, and why"
