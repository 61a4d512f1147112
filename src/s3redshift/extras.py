"""How to install an extra: one wording for every error that finds one missing.

s3redshift is installed from the wheel ``make dist`` builds or from a Git
tag, not from a package index, so ``pip install 's3redshift[extra]'`` cannot
work; the hint names the two ways that do (docs/install.md shows both). It
is imported only when an import of an extra has already failed, so a Lambda
cold start never pays for it.
"""

from __future__ import annotations

from s3redshift import __version__

__all__ = ["GIT_TAG", "WHEEL", "git_requirement", "install_hint", "wheel_requirement"]

WHEEL = f"s3redshift-{__version__}-py3-none-any.whl"
"""The file name of this version's wheel, as ``make dist`` writes it into ``dist/``."""

GIT_TAG = f"v{__version__}"
"""The Git tag of this version."""


def wheel_requirement(extra: str, directory: str = "dist") -> str:
    """The pip requirement of this version's wheel with ``extra``, from ``directory``."""
    return f"{directory}/{WHEEL}[{extra}]"


def git_requirement(repository: str, extra: str | None = None) -> str:
    """The pip requirement of this version's Git tag in ``repository``, with ``extra`` if given."""
    name = f"s3redshift[{extra}]" if extra else "s3redshift"
    return f"{name} @ git+{repository}@{GIT_TAG}"


def install_hint(extra: str) -> str:
    """What to run to install ``extra``: the built wheel, or the Git tag of this version."""
    return (
        f"install the {extra!r} extra: pip install '{wheel_requirement(extra)}' "
        f"(the wheel `make dist` builds) or "
        f"pip install '{git_requirement('https://<your repository>', extra)}' "
        "(see docs/install.md)"
    )
