#!/usr/bin/env bash
# Generates the Python stubs (+ .pyi) into gen/ and the descriptor set Envoy's transcoder
# reads. The googleapis protos are copied from the googleapis-common-protos package.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python

GOOGLEAPIS_SRC=$("$PY" -c 'import google.api, pathlib; print(pathlib.Path(google.api.__path__[0]).parent)')
rm -rf third_party/googleapis
mkdir -p third_party/googleapis/google/api third_party/googleapis/google/rpc
cp "$GOOGLEAPIS_SRC"/api/{annotations,http,httpbody,field_behavior}.proto third_party/googleapis/google/api/
cp "$GOOGLEAPIS_SRC"/rpc/{status,code,error_details}.proto third_party/googleapis/google/rpc/

rm -rf gen
mkdir -p gen
mapfile -t PROTOS < <(cd protos && find . -name '*.proto' | sed 's#^\./##' | sort)
"$PY" -m grpc_tools.protoc -Iprotos -Ithird_party/googleapis \
  --python_out=gen --pyi_out=gen --grpc_python_out=gen "${PROTOS[@]}"
"$PY" -m grpc_tools.protoc -Iprotos -Ithird_party/googleapis \
  --include_imports --include_source_info --descriptor_set_out=gen/descriptor.pb "${PROTOS[@]}"
# Envoy's external-authorization messages the chat service answers (API keys): a subset kept
# in third_party/envoy_ext_authz, outside the published API and its descriptor set.
"$PY" -m grpc_tools.protoc -Ithird_party/envoy_ext_authz -Ithird_party/googleapis \
  --python_out=gen --pyi_out=gen --grpc_python_out=gen envoy_ext_authz.proto
echo "==> generated $(find gen -name '*.py' | wc -l) Python modules and gen/descriptor.pb"
# The OpenAPI description of the REST API (gen/openapi/), from the same annotations.
scripts/gen_openapi.sh
