#!/usr/bin/env bash
# Renders helm/chatstack/files/envoy.yaml, the Envoy config the chart ships, from the gateway's
# config generator (see scripts/render_envoy_for_helm.py for how per-release values become
# Helm template expressions). Run it after changing gateway/ or the protos (the transcoder's
# descriptor set is inlined): tests/deploy/test_helm_chart.py fails while the file is stale.
# Needs `make setup` (the venv and gen/descriptor.pb). Gateway knobs without a chart value are
# taken from the environment: CHATSTACK_GATEWAY_ROUTE_TIMEOUT_S=60 scripts/render_envoy_for_helm.sh
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m scripts.render_envoy_for_helm "$@"
