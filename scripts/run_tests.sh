#!/usr/bin/env bash
# Runs the whole suite: unit, servicer and real-server tiers (real models, a real Cassandra
# node from Maven jars, real Envoy). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_WAIT_POLICY=PASSIVE

set +e
.venv/bin/pytest -ra --durations=15 "$@"
rc=$?
set -e
if [[ $rc -eq 5 ]]; then
  echo "pytest collected no tests: treating that as a failure" >&2
  exit 1
fi
exit "$rc"
