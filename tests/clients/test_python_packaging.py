"""The Python client as a package (clients/python): it builds offline into a wheel and an sdist
that carry the PEP 561 marker `py.typed`, the build leaves nothing behind in the tree, every
module compiles, and the public API it promises types for is annotated.

The build backend, flit_core, comes from `make deps` (the test venv); the wheel is built with
`--no-build-isolation --no-index`, so nothing is downloaded here.
"""
import importlib.util
import inspect
import os
import py_compile
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from .support import CLIENT_DIR  # also puts clients/python on sys.path

REPO = CLIENT_DIR.parents[1]
PACKAGE = CLIENT_DIR / "rolloutd"
MODULES = sorted(p.name for p in PACKAGE.glob("*.py"))


def tree_state():
    """What git sees under clients/python, ignored files included (build/, *.egg-info, ...)."""
    out = subprocess.run(["git", "status", "--porcelain", "--ignored", "--untracked-files=all", "--", "."],
                         cwd=CLIENT_DIR, capture_output=True, text=True, check=True).stdout
    return sorted(line for line in out.splitlines() if "__pycache__" not in line)


@pytest.fixture(scope="module")
def flit_core():
    if importlib.util.find_spec("flit_core") is None:
        pytest.fail("flit_core is not installed: run `make deps` (it installs the test tools into .venv)")


def test_wheel_ships_py_typed_and_leaves_the_tree_clean(flit_core, tmp_path):
    before = tree_state()
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "--disable-pip-version-check", "-q", "-w", str(tmp_path), str(CLIENT_DIR)],
        capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    assert tree_state() == before, "building the wheel left files in clients/python"
    (wheel,) = tmp_path.glob("rolloutd-*-py3-none-any.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        metadata = z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "rolloutd/py.typed" in names
    assert {f"rolloutd/{m}" for m in MODULES} <= names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert "Requires-Python: >=3.9" in metadata and "Requires-Dist" not in metadata  # standard library only

    # Installed from the wheel, the package is importable with its marker next to it.
    target = tmp_path / "site"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--disable-pip-version-check", "-q",
         "--target", str(target), str(wheel)], capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    probe = subprocess.run(
        [sys.executable, "-c", "import rolloutd, pathlib; p = pathlib.Path(rolloutd.__file__).parent; "
                               "print(p, (p / 'py.typed').is_file(), rolloutd.__version__)"],
        cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(target)), capture_output=True, text=True, timeout=60)
    assert probe.returncode == 0, probe.stderr
    where, typed, version = probe.stdout.split()
    assert Path(where) == target / "rolloutd" and typed == "True" and version == "0.1.0"


def test_sdist_carries_py_typed_and_leaves_the_tree_clean(flit_core, tmp_path):
    before = tree_state()
    built = subprocess.run(
        [sys.executable, "-c", "import sys, flit_core.buildapi as b; print(b.build_sdist(sys.argv[1]))", str(tmp_path)],
        cwd=CLIENT_DIR, capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    assert tree_state() == before, "building the sdist left files in clients/python"
    with tarfile.open(tmp_path / built.stdout.strip()) as t:
        names = {n.split("/", 1)[1] for n in t.getnames() if "/" in n}
    assert {"pyproject.toml", "README.md", "rolloutd/py.typed"} <= names
    assert {f"rolloutd/{m}" for m in MODULES} <= names


def test_every_module_compiles(tmp_path):
    for module in MODULES:
        py_compile.compile(str(PACKAGE / module), cfile=str(tmp_path / (module + "c")), doraise=True)


def public_callables():
    import rolloutd

    for name in rolloutd.__all__:
        obj = getattr(rolloutd, name)
        if inspect.isclass(obj):
            if issubclass(obj, BaseException):
                continue  # exception classes: attributes, constructed by the library
            for attr, member in vars(obj).items():
                if (not attr.startswith("_") or attr in ("__init__", "__enter__", "__aenter__")) and inspect.isfunction(member):
                    yield f"{name}.{attr}", member
            for base in obj.__mro__[1:]:
                if base.__module__.startswith("rolloutd"):
                    for attr, member in vars(base).items():
                        if not attr.startswith("_") and inspect.isfunction(member):
                            yield f"{base.__name__}.{attr}", member
        elif inspect.isfunction(obj):
            yield name, obj


def test_the_public_api_is_annotated():
    """py.typed promises inline types: every public function and method of the names in
    rolloutd.__all__ annotates its parameters and its return type (__init__ may leave out its
    `-> None`, as type checkers allow)."""
    missing = []
    for qualname, fn in public_callables():
        signature = inspect.signature(fn)
        for pname, param in signature.parameters.items():
            if pname in ("self", "cls"):
                continue
            if param.annotation is inspect.Parameter.empty:
                missing.append(f"{qualname}({pname})")
        if signature.return_annotation is inspect.Signature.empty and not qualname.endswith(".__init__"):
            missing.append(f"{qualname} -> ?")
    assert not missing, "not annotated: " + ", ".join(sorted(set(missing)))


def test_mypy_if_installed():
    """mypy is not a dependency of the project; where it is installed, the package must pass it."""
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed (not a test dependency; `python3 -m py_compile` runs above)")
    result = subprocess.run([sys.executable, "-m", "mypy", "--cache-dir=/dev/null", "-p", "rolloutd"],
                            cwd=CLIENT_DIR, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
