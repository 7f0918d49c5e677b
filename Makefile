# The README's commands. Each one does all its own set-up on a fresh machine:
#   make book   -> builds the Jupyter Book (HTML in _build/html), executing every chapter on CPU
#   make test   -> runs every test: the package, the data scripts, the chapters (nbval) and the
#                  rendered book in headless Chromium
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_WORKERS ?= 2
# The tested versions of every package (transitive ones included); `make pins` refreshes them.
PINS   := constraints.txt
PIP_INSTALL := $(BIN)/pip install -q --constraint $(PINS)

.PHONY: setup versions pins sysdeps assets test test-fast book notebooks experiments benchmark clean

# torch comes from the registry as its CUDA build, which runs on CPU too (there is no CPU build of
# torchvision on PyPI); the pins fix which one.
$(STAMP): pyproject.toml $(PINS)
	$(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) --upgrade pip
	$(PIP_INSTALL) -e ".[dev,book]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

setup: $(STAMP) sysdeps versions

# Prints the installed versions; fails when one differs from its pin.
versions: $(STAMP)
	@$(BIN)/python tools/pins.py check

# Re-resolves constraints.txt in a throwaway venv (torch/torchvision stay as pinned unless
# TORCH=... TORCHVISION=... are given); run `make test` before committing the result.
pins:
	$(PYTHON) tools/pins.py refresh $(if $(TORCH),--torch $(TORCH)) $(if $(TORCHVISION),--torchvision $(TORCHVISION))

# Debian packages: ffmpeg (data_scripts re-encoding), libarchive-tools (bsdtar extracts HMDB-51's
# .rar archives) and chromium (the browser test of the book).
SYSPKGS := chromium ffmpeg libarchive-tools
sysdeps:
	@if command -v chromium >/dev/null && command -v ffmpeg >/dev/null && command -v bsdtar >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSPKGS) >/dev/null; \
	else echo "Please install $(SYSPKGS) (sudo apt-get install $(SYSPKGS)); the tests that need them will skip."; fi

notebooks: $(STAMP)
	$(BIN)/jupytext --to ipynb --quiet notebooks/*.md

# The tiny profile's generated assets (synthetic world, tiny CLIP pretrained on synthetic stills),
# made once before the chapters run so that no chapter cell pays for them; cached in .cache/.
assets: $(STAMP)
	$(BIN)/python -c "import tcclip.world.assets as a; a.synthetic_world(); a.clip_weights()"

# Ends with the table of per-chapter execution times (tests/test_book_times.py sets the limit).
book: setup assets
	$(BIN)/jupyter-book build . --all -W -n --keep-going --builder html
	@$(BIN)/python tools/book_times.py

test: setup notebooks
	$(MAKE) book
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -q tests
	$(BIN)/python -m pytest -q --nbval-lax notebooks/*.ipynb

test-fast: $(STAMP)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -q tests -m "not book"

experiments: $(STAMP)
	$(BIN)/python -m tcclip experiments

benchmark: $(STAMP)
	$(BIN)/python benchmarks/bench_model.py

clean:
	rm -rf _build .cache notebooks/*.ipynb
