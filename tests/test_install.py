"""The release as a user gets it: ``make dist``, then clean virtual environments.

``make dist`` runs once a run (the first xdist worker builds into the run's
shared directory, under a lock): the sdist, the wheel built from it, and a
second wheel built from the tree, which must hold the same files. Then, for
the core and for every extra ``pyproject.toml`` declares (a new extra is
covered without touching this file), a fresh ``python -m venv`` gets the
wheel with that extra, the requirement docs/install.md shows, and in it:

* the library and the extra's modules import, from the venv (not the tree);
* every distribution the extra names is there, at the version
  ``constraints.txt`` pins; the core has none of the extras' distributions;
* ``s3redshift --version`` prints the wheel's version;
* ``s3redshift plan`` on docs/install.md's own configuration and event
  prints the output the page shows (the COPY into ``public.kpis``).

In the core venv, a connector target and ``s3redshift demo`` must fail with
the install hint of their extra (a real trigger: the modules are absent),
and ``pip uninstall -y s3redshift`` removes the command. One more venv
installs the core from a Git tag (a throwaway repository of the tree,
tagged as the hint says), as pip does from the documented address.

Time (``make test`` must stay under ten minutes on two cores): the
wheel's venvs are filled by uv (a dev dependency) with the same requirement
and constraints, the same wheel metadata and pins, in about a second where
pip took 8 to 40 s of CPU per venv; the Git tag is installed by the venv's
own pip, the one the page's commands run (and the one that must read the
``git+`` address), and the core's own pip uninstalls the release.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import dataclass
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import s3redshift
from helpers import run_directory
from s3redshift.extras import GIT_TAG, WHEEL, git_requirement, install_hint, wheel_requirement

pytestmark = [pytest.mark.long, pytest.mark.timeout(420)]

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
EXTRAS: dict[str, list[str]] = PYPROJECT["project"]["optional-dependencies"]
CONSTRAINTS = ROOT / "constraints.txt"
INSTALL_PAGE = ROOT / "docs" / "install.md"
DOCUMENTED_REPOSITORY = "https://git.example.com/your-org/s3redshift.git"
VENV = "../s3redshift-venv"
"""The page's virtual environment, beside the checkout: the checkout's .venv is make's."""
SDIST = f"s3redshift-{s3redshift.__version__}.tar.gz"

EXTRA_IMPORTS = {
    "connector": "import redshift_connector, s3redshift.transports.connector",
    "local": "from s3redshift.local import EmbeddedEnvironment",
    "docs": "import mkdocs, material, mkdocs_gen_files, pymdownx, hcl2",
}
"""What an extra must make importable beyond its distributions; an extra naming
others (``dev``: ``s3redshift[connector,local,docs]``) is held to theirs too."""

NOT_IN_AN_SDIST = (".venv", "build", "dist", ".git", "__pycache__", ".pytest_cache")
NOT_IN_AN_SDIST += (".mypy_cache", ".ruff_cache", ".hypothesis", ".terraform", "tests")


# --- the build, once a run -------------------------------------------------------------


@dataclass(frozen=True)
class Built:
    """``make dist``'s output directory and a wheel built from the tree for comparison."""

    dist: Path
    tree_wheel: Path
    stale_removed: bool
    zip_kept: bool

    @property
    def wheel(self) -> Path:
        return self.dist / WHEEL


def _make_dist(out: Path) -> tuple[bool, bool]:
    """``make dist`` into ``out``, which already holds a stale wheel and a Lambda zip."""
    out.mkdir(parents=True)
    stale = out / "s3redshift-0.0.1-py3-none-any.whl"
    stale.write_bytes(b"an earlier build")
    lambda_zip = out / "lambda-data-api-x86_64-py3.12.zip"
    lambda_zip.write_bytes(b"a Lambda artifact")
    # -o: the venv this test runs in is up to date; make must not rebuild it.
    _run(["make", "-o", ".venv/.installed", "dist", f"DIST_DIR={out}"], cwd=ROOT)
    return not stale.exists(), lambda_zip.read_bytes() == b"a Lambda artifact"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    base = run_directory(tmp_path_factory) / "release"
    base.mkdir(exist_ok=True)
    record = base / "built.json"
    with (base / "lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not record.is_file():
            removed, kept = _make_dist(base / "dist")
            tree = base / "tree"
            _run(
                [sys.executable, "-m", "build", "--no-isolation", "--wheel", "--outdir", str(tree)],
                cwd=ROOT,
            )
            record.write_text(json.dumps([removed, kept]), encoding="utf-8")
        removed, kept = json.loads(record.read_text(encoding="utf-8"))
    return Built(base / "dist", base / "tree" / WHEEL, removed, kept)


# --- running things --------------------------------------------------------------------


def _clean_env(venv: Path | None = None) -> dict[str, str]:
    """The environment without this run's Python settings; ``venv`` first on PATH."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP"}
    }
    if venv is not None:
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def _run(
    command: list[str], *, cwd: Path, venv: Path | None = None, code: int = 0
) -> subprocess.CompletedProcess[str]:
    run = subprocess.run(
        command,
        cwd=cwd,
        env=_clean_env(venv),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == code, (
        f"{' '.join(command)} exited {run.returncode}:\n{run.stdout[-1500:]}\n{run.stderr[-6000:]}"
    )
    return run


def _venv(work: Path, *, own_pip: bool = True) -> Path:
    """``python -m venv`` of the page's :data:`VENV` from ``work``: no system site packages."""
    _run([sys.executable, "-m", "venv", *([] if own_pip else ["--without-pip"]), VENV], cwd=work)
    return Path(os.path.abspath(work / VENV))  # as venv names it: ".." gone, links kept


def _pip_install(venv: Path, requirement: str, work: Path, *, with_pip: bool = False) -> None:
    """Install ``requirement`` pinned: by uv, or (``with_pip``) by the venv's own pip."""
    options = ["--quiet", "--constraint", str(CONSTRAINTS), requirement]
    if with_pip:
        pip = str(venv / "bin" / "pip")
        command = [pip, "install", "--no-compile", "--disable-pip-version-check", *options]
    else:
        uv = Path(sys.executable).parent / "uv"
        command = [str(uv), "pip", "install", "--python", str(venv / "bin" / "python"), *options]
    _run(command, cwd=work, venv=venv)


def _python(venv: Path, code: str, work: Path) -> str:
    return _run([str(venv / "bin" / "python"), "-c", code], cwd=work, venv=venv).stdout


def _distributions(venv: Path, work: Path) -> dict[str, str]:
    listing = _python(
        venv,
        "import importlib.metadata as m, json; "
        "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))",
        work,
    )
    return {canonicalize_name(name): version for name, version in json.loads(listing).items()}


# --- what pyproject and the docs say ---------------------------------------------------


def _requirements(extra: str) -> list[Requirement]:
    """The extra's requirements, those of the extras it names (``s3redshift[...]``) included."""
    found: list[Requirement] = []
    for spec in EXTRAS[extra]:
        requirement = Requirement(spec)
        if canonicalize_name(requirement.name) == "s3redshift":
            for named in sorted(requirement.extras):
                found += _requirements(named)
        else:
            found.append(requirement)
    return found


def _named_extras(extra: str) -> set[str]:
    """``extra`` and every extra it names through ``s3redshift[...]``, transitively."""
    named = {extra}
    for spec in EXTRAS[extra]:
        requirement = Requirement(spec)
        if canonicalize_name(requirement.name) == "s3redshift":
            for other in requirement.extras:
                named |= _named_extras(other)
    return named


def _pins() -> dict[str, str]:
    pins = {}
    for line in CONSTRAINTS.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[canonicalize_name(name)] = version.strip()
    return pins


def _blocks(language: str) -> list[str]:
    """The fenced code blocks of docs/install.md written in ``language``."""
    text = INSTALL_PAGE.read_text(encoding="utf-8")
    return re.findall(rf"^```{language}\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)


def _shown_commands() -> list[str]:
    return [line for block in _blocks("sh") for line in block.splitlines()]


def _install_command(extra: str | None) -> str:
    requirement = wheel_requirement(extra) if extra else f"dist/{WHEEL}"
    return f"{VENV}/bin/pip install '{requirement}'"


def _samples(work: Path) -> None:
    """docs/install.md's configuration and event, saved as the page says."""
    (work / "s3redshift.toml").write_text(_blocks("toml")[0], encoding="utf-8")
    (work / "event.json").write_text(_blocks("json")[0], encoding="utf-8")


# --- the build ---------------------------------------------------------------------------


def test_make_dist_replaces_earlier_builds_and_keeps_the_lambda_zips(built: Built) -> None:
    assert sorted(p.name for p in built.dist.iterdir()) == sorted(
        [WHEEL, SDIST, "lambda-data-api-x86_64-py3.12.zip"]
    )
    assert built.stale_removed
    assert built.zip_kept


def test_wheel_metadata_carries_the_version_license_and_extras(built: Built) -> None:
    with zipfile.ZipFile(built.wheel) as wheel:
        info = f"s3redshift-{s3redshift.__version__}.dist-info"
        metadata = Parser().parsestr(wheel.read(f"{info}/METADATA").decode())
        license_text = wheel.read(f"{info}/licenses/LICENSE")
        names = wheel.namelist()
    assert metadata["Version"] == s3redshift.__version__
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata.get_all("License-File") == ["LICENSE"]
    assert license_text == (ROOT / "LICENSE").read_bytes()
    assert metadata["Requires-Python"] == ">=3.11"
    assert sorted(metadata.get_all("Provides-Extra")) == sorted(EXTRAS)
    assert {n.split("/")[0] for n in names} == {"s3redshift", info}
    assert "s3redshift/py.typed" in names


def test_license_is_the_unmodified_apache_2_text() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.lstrip().startswith("Apache License\n                           Version 2.0")
    assert "END OF TERMS AND CONDITIONS" in text
    assert "Copyright [yyyy] [name of copyright owner]" in text  # the appendix left blank
    assert len(text.splitlines()) == 202


def test_sdist_holds_the_sources_and_none_of_the_working_files(built: Built) -> None:
    import tarfile

    with tarfile.open(built.dist / SDIST) as sdist:
        names = [n.split("/", 1)[1] for n in sdist.getnames() if "/" in n]
    for required in ("pyproject.toml", "README.md", "LICENSE", "CHANGELOG.md", "PKG-INFO"):
        assert required in names
    sources = {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "src").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert sources <= set(names), sorted(sources - set(names))
    unwanted = [n for n in names if set(n.split("/")) & set(NOT_IN_AN_SDIST) or n.endswith(".pyc")]
    assert unwanted == []


def test_wheel_from_the_sdist_equals_the_wheel_from_the_tree(built: Built) -> None:
    def contents(path: Path) -> dict[str, bytes]:
        with zipfile.ZipFile(path) as wheel:
            return {name: wheel.read(name) for name in wheel.namelist()}

    from_sdist, from_tree = contents(built.wheel), contents(built.tree_wheel)
    assert sorted(from_sdist) == sorted(from_tree)
    assert [n for n in from_sdist if from_sdist[n] != from_tree[n]] == []


def test_changelog_opens_with_this_version() -> None:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    releases = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - (\d{4}-\d{2}-\d{2})$", text, re.MULTILINE)
    assert releases[0][0] == s3redshift.__version__
    assert [version for version, _ in releases] == sorted(
        (version for version, _ in releases),
        key=lambda v: tuple(int(part) for part in v.split(".")),
        reverse=True,
    )


def test_install_page_shows_the_commands_these_tests_run() -> None:
    shown = _shown_commands()
    for extra in (None, "connector"):
        assert _install_command(extra) in shown
    for extra in (None, "connector"):
        assert f"pip install '{git_requirement(DOCUMENTED_REPOSITORY, extra)}'" in shown
    for command in ("make dist", f"python -m venv {VENV}", "s3redshift --version"):
        assert command in shown
    assert "s3redshift plan --config s3redshift.toml event.json" in shown
    assert "pip uninstall -y s3redshift" in shown
    # Every extra is in the page's table, and nothing else is.
    rows = re.findall(r"^\| `([a-z-]+)` \|", INSTALL_PAGE.read_text(encoding="utf-8"), re.M)
    assert sorted(rows) == sorted(EXTRAS)


# --- clean installs ----------------------------------------------------------------------


def _work(built: Built, tmp_path: Path) -> Path:
    """A directory laid out as a checkout after ``make dist``: the wheel under dist/."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "dist").symlink_to(built.dist, target_is_directory=True)
    _samples(work)
    return work


def _check_version_and_plan(venv: Path, work: Path) -> None:
    version = _run([str(venv / "bin" / "s3redshift"), "--version"], cwd=work, venv=venv)
    assert version.stdout == f"s3redshift {s3redshift.__version__}\n" == _blocks("text")[0]
    plan = _run(
        [str(venv / "bin" / "s3redshift"), "plan", "--config", "s3redshift.toml", "event.json"],
        cwd=work,
        venv=venv,
    )
    printed = plan.stdout.splitlines()
    (shown,) = _blocks("text")[1:]  # the first text block is the version
    for line in shown.splitlines():
        assert line in printed, f"docs/install.md shows {line!r}; plan printed:\n{plan.stdout}"
    assert any(line.startswith('COPY "public"."kpis" FROM ') for line in printed)


def _check_imports(venv: Path, work: Path, extra: str | None) -> None:
    where = _python(
        venv, "import s3redshift.loader, s3redshift.cli; print(s3redshift.__file__)", work
    )
    assert Path(where.strip()).is_relative_to(venv), where  # the installed copy, not the tree's
    for named in sorted(_named_extras(extra)) if extra else ():
        if named in EXTRA_IMPORTS:
            _python(venv, EXTRA_IMPORTS[named], work)


VARIANTS = [None, *EXTRAS]
VENV_OWN = frozenset({"pip", "setuptools"})
"""What ``python -m venv`` itself puts in a venv (setuptools up to Python 3.11)."""


@pytest.mark.parametrize("extra", VARIANTS, ids=[v or "core" for v in VARIANTS])
def test_clean_venv_install(built: Built, tmp_path: Path, extra: str | None) -> None:
    work = _work(built, tmp_path)
    venv = _venv(work, own_pip=extra is None)
    requirement = _install_command(extra).split("'")[1]
    _pip_install(venv, requirement, work)

    installed = _distributions(venv, work)
    assert installed.pop("s3redshift") == s3redshift.__version__
    for requirement_of_extra in _requirements(extra) if extra else []:
        name = canonicalize_name(requirement_of_extra.name)
        assert name in installed, f"the {extra!r} extra did not install {name}"
    # Everything came at the version constraints.txt pins (a requirement's
    # new dependency left out of it shows here); venv's own pip and setuptools aside.
    pins = _pins()
    unpinned = {n: v for n, v in installed.items() if pins.get(n) != v}
    assert {n: v for n, v in unpinned.items() if n not in VENV_OWN} == {}
    if extra is None:
        brought_by_extras = {canonicalize_name(r.name) for e in EXTRAS for r in _requirements(e)}
        assert sorted(brought_by_extras & set(installed)) == []

    _check_imports(venv, work, extra)
    _check_version_and_plan(venv, work)
    if extra == "connector":
        _check_connector_reaches_the_database(venv, work)
    if extra == "local":  # the stand-in starts, loads and stops
        _run([str(venv / "bin" / "s3redshift"), "demo"], cwd=work, venv=venv)
    if extra is None:
        _check_missing_extras_are_named(venv, work)
        _run([str(venv / "bin" / "pip"), "uninstall", "-y", "s3redshift"], cwd=work, venv=venv)
        assert not (venv / "bin" / "s3redshift").exists()
        _run([str(venv / "bin" / "python"), "-c", "import s3redshift"], cwd=work, code=1)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _connector_config(work: Path) -> Path:
    path = work / "connector.toml"
    path.write_text(
        "[target]\n"
        'kind = "redshift"\n'
        'transport = "connector"\n'
        'host = "127.0.0.1"\n'
        f"port = {_closed_port()}\n"
        'database = "dev"\n'
        "[credentials]\n"
        'provider = "static"\n'
        'user = "loader"\n'
        'password = "not-a-secret"\n'
        "[copy]\n"
        'iam_role = "default"\n',
        encoding="utf-8",
    )
    return path


def _check_missing_extras_are_named(venv: Path, work: Path) -> None:
    """The core venv lacks both extras: what needs them says how to install them."""
    cli = str(venv / "bin" / "s3redshift")
    config = _connector_config(work)
    ledger = _run([cli, "ledger", "--config", str(config)], cwd=work, venv=venv, code=2)
    assert ledger.stderr == (
        "s3redshift: error: target.transport = 'connector' needs the redshift_connector "
        f"driver; {install_hint('connector')}\n"
    )
    demo = _run([cli, "demo"], cwd=work, venv=venv, code=2)
    assert demo.stderr == (
        "s3redshift: error: s3redshift.local needs moto[server], but module 'moto' cannot "
        f"be imported; {install_hint('local')}\n"
    )
    # The wheel each hint names is where `make dist` put it, seen from the checkout.
    for hint in (ledger.stderr, demo.stderr):
        (requirement,) = re.findall(r"pip install '(dist/[^'\[]+)\[", hint)
        assert (work / requirement).is_file()


def _check_connector_reaches_the_database(venv: Path, work: Path) -> None:
    """With the extra the hint names, the command that named it reaches the database."""
    config = _connector_config(work)
    cli = str(venv / "bin" / "s3redshift")
    run = _run([cli, "ledger", "--config", str(config)], cwd=work, venv=venv, code=1)
    assert "redshift_connector driver" not in run.stderr
    assert run.stderr.startswith("s3redshift: error: cannot reach the database (127.0.0.1:")


def _tagged_repository(tmp_path: Path) -> Path:
    """A Git repository of the tree as it is (untracked files too), tagged as this version."""
    listed = _run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT
    ).stdout.split("\0")
    repository = tmp_path / "repository"
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (repository / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repository / name)
    git = ["git", "-c", "user.name=release", "-c", "user.email=release@localhost"]
    _run([*git, "init", "--quiet"], cwd=repository)
    _run([*git, "add", "--all"], cwd=repository)
    _run([*git, "commit", "--quiet", "--message", "release"], cwd=repository)
    _run([*git, "tag", GIT_TAG], cwd=repository)
    return repository


def test_install_from_a_git_tag(built: Built, tmp_path: Path) -> None:
    repository = _tagged_repository(tmp_path)
    work = _work(built, tmp_path)
    venv = _venv(work)
    # file://localhost/...: the packaging in the pip that venv bundles (23.2)
    # refuses a URL with an empty host, as in file:///...
    _pip_install(venv, git_requirement(f"file://localhost{repository}"), work, with_pip=True)
    direct_url = json.loads(
        _python(
            venv,
            "import importlib.metadata as m; "
            "print(m.distribution('s3redshift').read_text('direct_url.json'))",
            work,
        )
    )
    assert direct_url["vcs_info"]["vcs"] == "git"
    assert direct_url["vcs_info"]["requested_revision"] == GIT_TAG
    _check_imports(venv, work, None)
    _check_version_and_plan(venv, work)
