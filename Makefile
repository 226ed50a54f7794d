# Two entry points that work on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
OUT    ?= her2mri-demo

.PHONY: demo test venv browser postgresql bench clean

$(BIN)/her2mri: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/python -m pip install --quiet -e '.[all,test]'
	touch $(BIN)/her2mri

venv: $(BIN)/her2mri

# Debian's chromium + chromedriver for the real-browser tests (browser downloads are not used).
browser:
	@command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 || \
	  { if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null; \
	    else sudo apt-get update -qq && sudo apt-get install -y -qq chromium chromium-driver >/dev/null; fi; }

# Debian's PostgreSQL server binaries for the store tests (each test session starts a throwaway cluster).
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || \
	  { if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq postgresql >/dev/null; \
	    else sudo apt-get update -qq && sudo apt-get install -y -qq postgresql >/dev/null; fi; }

demo: venv
	$(BIN)/her2mri demo --out $(OUT)
	@echo "Report: $(OUT)/report.html"

test: venv browser postgresql
	$(BIN)/python -m pytest -q -p no:cacheprovider --timeout=900

bench: venv
	for f in benchmarks/bench_*.py; do $(BIN)/python $$f; done

clean:
	rm -rf $(VENV) $(OUT) build *.egg-info src/*.egg-info
