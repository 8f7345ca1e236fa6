"""`make install` (SPEC §7): both binaries, the bash/zsh/fish completions of rolloutctl and the man
pages rolloutctl(1) and rolloutd(8) under PREFIX, staged under DESTDIR.

It installs the build that the suite already runs on (CONFIGURATION=debug, from .build/debug,
or release when $ROLLOUT_BIN_DIR names .build/release), so the only extra work is
swift-argument-parser's generate-manual plugin: its tool is built once (about 40 s), the package
build it asks for has nothing to do. Rendering needs man-db (or groff), which `make test`
installs; without it these tests fail rather than skip.
"""
import filecmp
import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN_DIR = REPO / os.environ.get("ROLLOUT_BIN_DIR", ".build/debug")
CONFIGURATION = "release" if BIN_DIR.resolve().name == "release" else "debug"

EXPECTED = {
    "bin/rolloutd": 0o755,
    "bin/rolloutctl": 0o755,
    "share/bash-completion/completions/rolloutctl": 0o644,
    "share/zsh/site-functions/_rolloutctl": 0o644,
    "share/fish/vendor_completions.d/rolloutctl.fish": 0o644,
    "share/man/man1/rolloutctl.1": 0o644,
    "share/man/man8/rolloutd.8": 0o644,
}


def make(*args, timeout=1800):
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    return subprocess.run(["make", "--no-print-directory", "-C", str(REPO), *args, f"CONFIGURATION={CONFIGURATION}"],
                          env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def destdir(tmp_path_factory):
    dest = tmp_path_factory.mktemp("destdir")
    result = make("install", f"DESTDIR={dest}", "PREFIX=/usr")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return dest


@pytest.fixture(scope="module")
def prefix(destdir):
    return destdir / "usr"


def tool_info(binary):
    """swift-argument-parser's description of a tool: every command, option and flag."""
    out = subprocess.run([str(binary), "--experimental-dump-help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["command"]


def commands(command, path=()):
    """(path, command) for the command and every displayed subcommand, depth first."""
    here = (*path, command["commandName"])
    yield here, command
    for sub in command.get("subcommands", []):
        if sub.get("shouldDisplay", True) and sub["commandName"] != "help":
            yield from commands(sub, here)


def long_options(command):
    return {n["name"] for a in command.get("arguments", []) if a.get("shouldDisplay", True)
            for n in a.get("names", []) if n["kind"] == "long"}


def render(page):
    """The page as plain text: man -l (man-db), else groff -mandoc; warnings go to stderr."""
    if shutil.which("man"):
        cmd = ["man", "-l", str(page)]
    elif shutil.which("groff"):
        cmd = ["groff", "-mandoc", "-Tascii", "-ww", str(page)]
    else:
        pytest.fail("neither man nor groff is installed: run `make deps` (make test installs man-db)")
    env = dict(os.environ, MANPAGER="cat", PAGER="cat", MANWIDTH="1000", LC_ALL="C", MAN_KEEP_FORMATTING="")
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", f"{page.name} renders with warnings: {result.stderr}"
    return result.stdout


def test_installs_exactly_the_binaries_completions_and_man_pages(destdir, prefix):
    files = {p.relative_to(prefix).as_posix(): stat.S_IMODE(p.stat().st_mode)
             for p in destdir.rglob("*") if p.is_file()}
    assert files == EXPECTED
    assert not [p for p in destdir.iterdir() if p.name != "usr"], "files outside PREFIX"
    for name in ("rolloutd", "rolloutctl"):
        assert filecmp.cmp(prefix / "bin" / name, BIN_DIR / name, shallow=False), f"{name} is not the built binary"
    run = subprocess.run([str(prefix / "bin" / "rolloutctl"), "--help"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and "rolloutctl" in run.stdout, run.stderr


def test_rolloutctl_man_page_renders_and_lists_every_command_and_option(prefix):
    text = render(prefix / "share/man/man1/rolloutctl.1")
    assert text.splitlines()[0].split()[0] == "ROLLOUTCTL(1)", text[:200]
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "EXIT STATUS", "SEE ALSO"):
        assert f"\n{section}\n" in text, section
    assert "rolloutd(8)" in text
    words = set(text.replace(",", " ").split())
    missing = []
    for path, command in commands(tool_info(BIN_DIR / "rolloutctl")):
        if command["commandName"] not in words:
            missing.append(" ".join(path))
        missing += [f"{' '.join(path)} --{o}" for o in long_options(command) if f"--{o}" not in words]
    assert not missing, f"not in rolloutctl(1): {missing}"


def test_rolloutd_man_page_is_section_8(prefix):
    text = render(prefix / "share/man/man8/rolloutd.8")
    assert text.splitlines()[0].split()[0] == "ROLLOUTD(8)", text[:200]
    assert "rolloutctl(1)" in text
    words = set(text.split())
    assert {f"--{o}" for o in long_options(tool_info(BIN_DIR / "rolloutd"))} <= words


def bash(script):
    return subprocess.run(["bash", "--norc", "--noprofile", "-c", script], capture_output=True, text=True, timeout=60)


def complete(completion, line):
    """What bash offers for `line` (completing its last word) with the installed script."""
    words = line.split(" ")
    script = (f"source {completion} || exit 9\n"
              f"COMP_LINE={json.dumps(line)}; COMP_POINT=${{#COMP_LINE}}\n"
              f"COMP_WORDS=({' '.join(json.dumps(w) for w in words)}); COMP_CWORD={len(words) - 1}\n"
              f"_rolloutctl rolloutctl {json.dumps(words[-1])} {json.dumps(words[-2])}\n"
              'printf "%s\\n" "${COMPREPLY[@]}"')
    result = bash(script)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    return set(result.stdout.split())


def test_bash_completion_sources_and_completes(prefix):
    completion = prefix / "share/bash-completion/completions/rolloutctl"
    sourced = bash(f"set -eu; source {completion}; complete -p rolloutctl")
    assert sourced.returncode == 0 and sourced.stderr == "", sourced.stderr
    assert "-F _rolloutctl rolloutctl" in sourced.stdout
    root = tool_info(BIN_DIR / "rolloutctl")
    top = {c["commandName"] for c in root["subcommands"] if c.get("shouldDisplay", True)}
    assert top <= complete(completion, "rolloutctl ")
    assert complete(completion, "rolloutctl ob") == {"object"}
    object_subcommands = {c["commandName"] for c in next(c for c in root["subcommands"] if c["commandName"] == "object")["subcommands"]
                          if c["commandName"] != "help"}
    assert object_subcommands <= complete(completion, "rolloutctl object ")


def test_zsh_and_fish_completions(prefix):
    zsh = prefix / "share/zsh/site-functions/_rolloutctl"
    assert zsh.read_text().startswith("#compdef rolloutctl")
    fish = prefix / "share/fish/vendor_completions.d/rolloutctl.fish"
    assert "complete -c 'rolloutctl'" in fish.read_text()
    # The shells are not test dependencies; where they are installed, the scripts must parse.
    if shutil.which("zsh"):
        parsed = subprocess.run(["zsh", "-n", str(zsh)], capture_output=True, text=True, timeout=60)
        assert parsed.returncode == 0, parsed.stderr
    if shutil.which("fish"):
        parsed = subprocess.run(["fish", "--no-execute", str(fish)], capture_output=True, text=True, timeout=60)
        assert parsed.returncode == 0, parsed.stderr


def test_uninstall_removes_what_install_put_there(destdir):
    result = make("uninstall", f"DESTDIR={destdir}", "PREFIX=/usr", timeout=120)
    assert result.returncode == 0, result.stderr
    assert not [p for p in destdir.rglob("*") if p.is_file()]
