"""The development environment's versions: pinned for every run, and tried against the newest.

``make test`` installs the project with ``--constraint constraints.txt``, so a
fresh clone resolves the versions the suite last passed with, whatever the
package index published since. This script keeps that file honest:

``lock``    resolves ``.[dev]`` afresh (newest versions the bounds in
            pyproject.toml admit) in a scratch environment and writes
            ``constraints.txt`` from it. Run it, then ``make test``, then commit.
``latest``  installs the newest versions the same way in a scratch
            environment, runs ruff, mypy and pytest there and prints which
            versions differ from ``constraints.txt`` and what failed. It exits
            with the first failing check's status; nothing in the checkout
            changes.

Both work under ``build/`` so the project's own ``.venv`` is never touched.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONSTRAINTS = ROOT / "constraints.txt"
HEADER = (
    "# Every version `make test` installs (pip's constraints format), written by\n"
    "# `make lock` from a fresh resolution of .[dev]; `make test-latest` tries the\n"
    "# newest versions instead and names what differs and what broke.\n"
)


def _fresh_env(path: Path) -> Path:
    """A new virtual environment with the project's dev extras at their newest versions."""
    venv.EnvBuilder(clear=True, with_pip=True).create(path)
    python = path / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "--upgrade", "-e", f"{ROOT}[dev]"], check=True)
    return python


def _frozen(python: Path) -> dict[str, str]:
    """``name -> version`` of what the environment holds, the project itself left out."""
    out = subprocess.run(
        [str(python), "-m", "pip", "freeze", "--exclude-editable", "--disable-pip-version-check"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    pins = {}
    for line in out.splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            pins[name.lower()] = version.strip()
    return pins


def _read_constraints() -> dict[str, str]:
    pins = {}
    for line in CONSTRAINTS.read_text(encoding="utf-8").splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            pins[name.strip().lower()] = version.strip()
    return pins


def lock() -> int:
    python = _fresh_env(ROOT / "build" / "lock-venv")
    pins = _frozen(python)
    body = "".join(f"{name}=={version}\n" for name, version in sorted(pins.items()))
    CONSTRAINTS.write_text(HEADER + body, encoding="utf-8")
    print(f"constraints.txt: {len(pins)} pinned versions; run `make test` before committing it")
    return 0


def latest() -> int:
    env = ROOT / "build" / "latest-venv"
    python = _fresh_env(env)
    newest, pinned = _frozen(python), _read_constraints()
    changed = sorted(
        f"{name} {pinned.get(name, '(new)')} -> {version}"
        for name, version in newest.items()
        if pinned.get(name) != version
    )
    print(f"{len(changed)} version(s) differ from constraints.txt:")
    for line in changed:
        print(f"  {line}")
    bin_ = env / "bin"
    checks = [
        ("ruff", [str(bin_ / "ruff"), "check", "src", "adapters", "tests", "bench", "scripts"]),
        ("mypy", [str(bin_ / "mypy")]),
        ("pytest", [str(bin_ / "pytest"), "-q", "-p", "no:cacheprovider", "-n", "2"]),
    ]
    failed: list[tuple[str, int]] = []
    for name, command in checks:
        print(f"--- {name} on the newest versions", flush=True)
        status = subprocess.run(command, cwd=ROOT, check=False).returncode
        if status != 0:
            failed.append((name, status))
    if not failed:
        print("the newest versions pass: `make lock` may adopt them")
        return 0
    print("broken on the newest versions: " + ", ".join(n for n, _ in failed))
    print("(constraints.txt still pins the versions `make test` passes with)")
    return failed[0][1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["lock", "latest"])
    args = parser.parse_args(argv)
    return lock() if args.command == "lock" else latest()


if __name__ == "__main__":
    sys.exit(main())
