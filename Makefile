# hymt.gpu_mesh — the two commands users need are `make lab` and `make test`; the rest are their parts.
SHELL := /bin/bash
VENV := .venv
PYTHON := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export CONTAINERS_CONF := $(CURDIR)/lab/containers.conf
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup system-deps images lab-binaries test sanity lint unit molecule lab lab-down build clean

## setup: build .venv (only when the requirements changed) and make the checkout resolvable as hymt.gpu_mesh
setup: $(VENV)/.installed .collections/ansible_collections/hymt/gpu_mesh

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@# Debian's python3 has no venv/ensurepip until python3-venv is installed.
	@python3 -c 'import ensurepip' 2>/dev/null || lab/scripts/install-system-deps.sh python3-venv
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -r requirements-dev.txt
	touch $@

.collections/ansible_collections/hymt/gpu_mesh:
	mkdir -p $(@D)
	ln -sfn ../../.. $@

## system-deps: Debian packages the lab and Molecule need (podman with runc, debootstrap)
system-deps:
	@lab/scripts/install-system-deps.sh

## images: the Debian 12 and 13 test-host images (cached; rebuilt when their recipe changes)
images: system-deps
	@lab/images/build.sh bookworm trixie

## lab-binaries: the lab's upstream programs built from their Go modules (cached; built only when missing)
lab-binaries: setup
	@$(PYTHON) -m lab.control_plane build

## test: the whole suite; ends with one line "N passed, N failed"
test: setup system-deps
	@$(PYTHON) tests/suite.py

sanity: setup
	@$(PYTHON) tests/suite.py --only sanity

lint: setup
	@$(PYTHON) tests/suite.py --only lint

unit: setup
	@$(PYTHON) tests/suite.py --only unit

molecule: setup system-deps
	@$(PYTHON) tests/suite.py --only molecule

## lab: bring up the local lab, run site.yml against inventories/lab, print a summary, tear down
lab: setup system-deps
	@$(PYTHON) -m lab up --run-site --down

lab-down: setup
	@$(PYTHON) -m lab down

## build: the collection artifact (hymt-gpu_mesh-<version>.tar.gz)
build: setup
	ansible-galaxy collection build --force --output-path .build

clean: lab-down
	rm -rf .build .collections tests/output .pytest_cache
