# Quick start:
#   make demo   # installs missing system libraries, builds, masks examples/customers.csv into out/
#   make test   # installs missing system libraries, runs the whole test suite
.PHONY: deps test-deps build release dist demo test bench clean

deps:
	@bash scripts/install-deps.sh

build: deps
	swift build

release: deps
	swift build -c release --product mask

# The self-contained release: dist/mask-VERSION-linux-ARCH.tar.gz (+ .sha256) and the .deb.
dist: deps
	bash scripts/dist.sh

demo: release
	@rm -rf out
	MASK_HMAC_KEY=$${MASK_HMAC_KEY:-demo-key-not-for-production} .build/release/mask \
	    --rules rules/pii.yaml --input examples/customers.csv --output out/customers
	@ls -l out/customers
	@echo "--- first masked records"; zcat out/customers/part-00000.csv.gz | head -n 4

test-deps:
	@EXTRA_APT_PACKAGES="postgresql zstd mariadb-server" bash scripts/install-deps.sh
	@python3 -c "import moto.server, boto3, jsonschema, kubernetes_validate" 2>/dev/null \
	    || python3 -m pip install --quiet "moto[server]" jsonschema kubernetes-validate \
	    || python3 -m pip install --quiet --break-system-packages "moto[server]" jsonschema kubernetes-validate
	@# gs:// tests: Google's storage emulator, Google's own client to check what mask wrote, and
	@# google-auth to verify the JWTs mask signs (never our own code checking our own code).
	@# Phone tests: libphonenumber's own example numbers and formatting (public material, not ours).
	@python3 -c "import phonenumbers" 2>/dev/null \
	    || python3 -m pip install --quiet phonenumbers \
	    || python3 -m pip install --quiet --break-system-packages phonenumbers
	@# DuckDB, a real loader, reads the gzip parts mask writes (GzipMembersTests).
	@python3 -c "import duckdb" 2>/dev/null \
	    || python3 -m pip install --quiet duckdb \
	    || python3 -m pip install --quiet --break-system-packages duckdb
	@# Argo's own models (hera, generated from Argo's OpenAPI schema) check deploy/argo (scripts/validate-argo.py).
	@python3 -c "import hera.workflows.models, yaml" 2>/dev/null \
	    || python3 -m pip install --quiet "hera>=5.16,<8" pyyaml \
	    || python3 -m pip install --quiet --break-system-packages "hera>=5.16,<8" pyyaml
	@# The Airflow example DAG runs in real Airflow (AirflowDAGTests), in a virtualenv of its own
	@# (Airflow pins much of what the other tools use), with the versions of examples/airflow/constraints.txt.
	@test -x .build/airflow-venv/bin/airflow || { python3 -m venv .build/airflow-venv \
	    && .build/airflow-venv/bin/pip install --quiet -c examples/airflow/constraints.txt apache-airflow; }
	@python3 -c "import gcp_storage_emulator, google.cloud.storage, google.auth" 2>/dev/null \
	    || python3 -m pip install --quiet gcp-storage-emulator google-cloud-storage google-auth \
	    || python3 -m pip install --quiet --break-system-packages gcp-storage-emulator google-cloud-storage google-auth

test: test-deps
	swift build --build-tests
	swift test --skip-build --parallel --num-workers 2
	python3 fuzz/campaign.py --mask .build/debug/mask --budget 90 --seed $(FUZZ_SEED) --cases 100 --jobs 2
	bash scripts/test-dist.sh

bench: deps
	bash benchmarks/run.sh

clean:
	rm -rf .build out dist

# Fuzzing (fuzz/README.md): planted personal data, structural mutations, the real binary, oracles for
# leaks, crashes, hangs, record counts, determinism, the --output commit and mask verify.
# `fuzz` is the long campaign (random seed, printed); `fuzz-short` the bounded, reproducible one for CI.
FUZZ_SEED ?= 20251203
.PHONY: fuzz fuzz-short
fuzz: release
	python3 fuzz/campaign.py --budget 1800

fuzz-short: build
	python3 fuzz/campaign.py --mask .build/debug/mask --budget 90 --seed $(FUZZ_SEED) --cases 100 --jobs 2
