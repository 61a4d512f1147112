# Every target works on a fresh clone: the venv is created and the project
# installed (with its dev extras, at the versions constraints.txt pins) on
# first use, and again when pyproject.toml or constraints.txt changes. pip
# installs uv (pinned too), and uv the rest: the same pins in about 2 s of
# CPU where pip took about 45 s.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: lock test-latest test check lint typecheck docs pytest demo bench reliability clean dist lambda-zip checkov terraform-validate terraform-e2e

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --constraint constraints.txt uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python --constraint constraints.txt -e '.[dev]'
	touch $(STAMP)

# ruff first (seconds, and the commonest failure); then mypy, checkov (its
# own venv, made by uv) and the docs site's strict build run beside the
# suite, each one's output kept together: on two cores the suite's workers
# leave room for them while the Terraform worker waits
# (tests/test_terraform_e2e.py, which also runs terraform-validate).
# `make check` is the quick lane for type errors.
test: $(STAMP) lint
	$(MAKE) --no-print-directory --output-sync=target -j4 typecheck checkov docs pytest

# The quick lane: ruff, mypy and the tests that need neither the stand-in nor
# minutes (markers standin and long, tests/conftest.py), in about a minute.
check: $(STAMP) lint typecheck
	$(BIN)/pytest -q -n 2 -m "not standin and not long"

# constraints.txt anew from the newest versions pyproject.toml admits (then
# run `make test` and commit it); `make test-latest` runs ruff, mypy and pytest
# on the newest versions in a scratch venv and names what differs and broke.
lock:
	$(PYTHON) scripts/deps.py lock

test-latest:
	$(PYTHON) scripts/deps.py latest

lint: $(STAMP)
	$(BIN)/ruff check src adapters tests bench scripts docs
	$(BIN)/ruff format --check src adapters tests bench scripts docs

typecheck: $(STAMP)
	$(BIN)/mypy

# The docs site (mkdocs.yml) into build/site: the CLI, configuration and
# performance references are generated from the parser, the configuration's
# JSON Schema and bench/results.json (scripts/docs_pages.py). --strict fails
# the build on any warning: a broken link or anchor, a page not in the nav.
# (The variable silences the theme's end-of-life banner, which is no warning.)
# No --quiet: MkDocs 1.6 then drops the warnings before strict mode counts
# them, and a broken link builds with exit 0 (mkdocs/mkdocs#4126).
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# The suite on three workers: the Terraform end-to-end run (one test,
# tests/test_terraform_e2e.py, started first) mostly waits on the provider
# and moto for about four minutes, so two workers share the cores meanwhile
# (7 min 10 s here, against 8 min 16 s on two workers); worksteal lets them
# take the tests queued behind it.
pytest: $(STAMP)
	S3REDSHIFT_TERRAFORM_E2E=1 $(BIN)/pytest -q -n 3 --dist worksteal --durations=15

demo: $(STAMP)
	$(BIN)/s3redshift demo

bench: $(STAMP)
	$(BIN)/python -m bench

# The full fault-injection run (tests/reliability); S3REDSHIFT_RELIABILITY_SEED=<n>
# replays one schedule, S3REDSHIFT_RELIABILITY_SCHEDULES=<n> sets how many.
reliability: $(STAMP)
	PYTHONPATH=tests $(BIN)/python -m reliability

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache .pytest_cache .hypothesis

# The release: dist/s3redshift-<version>-py3-none-any.whl and its sdist.
# `python -m build` makes the sdist first and the wheel from it, so a file
# the build needs but the sdist lacks fails here. The backend is the pinned
# hatchling of the venv (no isolation). Only this project's earlier wheels
# and sdists are removed: dist/ also keeps the Lambda zips.
DIST_DIR ?= dist

dist: $(STAMP)
	rm -f $(DIST_DIR)/s3redshift-*.whl $(DIST_DIR)/s3redshift-*.tar.gz
	$(BIN)/python -m build --no-isolation --outdir $(DIST_DIR) .

# The Lambda artifact: dist/lambda-<transport>-<arch>-py<version>.zip, built
# for Lambda's platform from any machine (pip --platform --only-binary).
TRANSPORT      ?= data-api
ARCH           ?= x86_64
PYTHON_VERSION ?= 3.12

lambda-zip: $(STAMP)
	$(BIN)/python scripts/build_lambda.py --transport $(TRANSPORT) --arch $(ARCH) \
		--python-version $(PYTHON_VERSION) --out-dir dist

# checkov lives in its own venv: it pins an old boto3 and ships a fork of
# python-hcl2 that would replace the project's one.
CHECKOV_VERSION ?= 3.3.30
CHECKOV_VENV    := build/checkov-venv
CHECKOV_STAMP   := $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)

$(CHECKOV_STAMP): $(STAMP)
	$(BIN)/uv venv --quiet --allow-existing $(CHECKOV_VENV)
	$(BIN)/uv pip install --quiet --python $(CHECKOV_VENV)/bin/python 'checkov==$(CHECKOV_VERSION)'
	touch $(CHECKOV_STAMP)

# A file checkov cannot parse drops its resources silently, so the JSON copy
# of the results is read to fail on parsing errors as well as failed checks.
checkov: $(CHECKOV_STAMP)
	$(CHECKOV_VENV)/bin/checkov -d infra/terraform --framework terraform --skip-download \
		--compact --quiet -o cli -o json --output-file-path console,build/checkov.json
	$(CHECKOV_VENV)/bin/python -c 'import json, sys; r = json.load(open("build/checkov.json")); s = (r[0] if isinstance(r, list) else r)["summary"]; sys.exit("checkov: %d file(s) could not be parsed" % s["parsing_errors"] if s["parsing_errors"] else 0)'

# Terraform, offline: `init -backend=false` from the local provider mirror
# (a generated CLI configuration under build/terraform, no registry), then
# `validate` and `terraform test` of the module and every example. Without
# terraform or a mirror it says so in one line and skips.
terraform-validate: $(STAMP)
	$(BIN)/python scripts/terraform_check.py validate

# Every example planned, applied against moto's server on 127.0.0.1, read back
# and checked with boto3, then destroyed (builds the Lambda zips if missing);
# `make test` runs it as a test of its suite.
terraform-e2e: $(STAMP)
	$(BIN)/python scripts/terraform_check.py e2e
