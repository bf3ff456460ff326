#!/usr/bin/env bash
# Generates the OpenAPI (Swagger 2.0) description of the public REST API,
# gen/openapi/chatstack.swagger.json, from the google.api.http annotations of the chat proto.
# The generator is protoc-gen-openapiv2 from the grpc-gateway Go module, built here with the
# Go toolchain into .tools/bin (git-ignored). The first build downloads Go modules into the
# module cache (about a minute on 2 cores); later runs reuse the binary of the pinned version.
# Called by scripts/gen_protos.sh after third_party/googleapis is in place.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python

GRPC_GATEWAY_VERSION=v2.33.0
TOOLS_BIN=$PWD/.tools/bin
PLUGIN=$TOOLS_BIN/protoc-gen-openapiv2
API_TITLE="chatstack chat API"
API_VERSION=v1

installed_version() {
  # The module version recorded in the binary's build info (empty if absent or unreadable).
  go version -m "$PLUGIN" 2>/dev/null |
    awk '$1 == "mod" && $2 == "github.com/grpc-ecosystem/grpc-gateway/v2" {print $3}'
}

if [[ -x "$PLUGIN" && "$(installed_version)" == "$GRPC_GATEWAY_VERSION" ]]; then
  echo "==> protoc-gen-openapiv2 $GRPC_GATEWAY_VERSION already in .tools/bin"
else
  if ! command -v go >/dev/null; then
    echo "error: the Go toolchain (go) is needed to build protoc-gen-openapiv2" >&2
    exit 1
  fi
  echo "==> building protoc-gen-openapiv2 $GRPC_GATEWAY_VERSION into .tools/bin with go install"
  echo "    (the first time downloads the Go modules: about a minute)"
  mkdir -p "$TOOLS_BIN"
  GOBIN=$TOOLS_BIN GOFLAGS=-buildvcs=false \
    go install "github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2@$GRPC_GATEWAY_VERSION"
fi

# Title, version and the bearer-token security scheme, in the generator's YAML config format
# (the protos stay free of openapiv2 annotations).
CONFIG=$(mktemp --suffix=.yaml)
trap 'rm -f "$CONFIG"' EXIT
cat >"$CONFIG" <<EOF
openapiOptions:
  file:
    - file: chatstack/chat/v1/chat.proto
      option:
        info:
          title: $API_TITLE
          version: $API_VERSION
          description: >-
            REST API of chatstack, served by Envoy's gRPC-JSON transcoder.
            POST /chat/{chat_id}/completion answers text/event-stream: one
            "data: <JSON>" event per streamed CompleteResponse.
        consumes: [application/json]
        produces: [application/json]
        securityDefinitions:
          security:
            bearer:
              type: TYPE_API_KEY
              in: IN_HEADER
              name: Authorization
              description: "A JWT: Authorization: Bearer <token>"
        security:
          - securityRequirement:
              bearer: {}
EOF

rm -rf gen/openapi
mkdir -p gen/openapi
# json_names_for_fields=false: snake_case names, as the transcoder prints them
# (preserve_proto_field_names). Only the chat service is exposed over REST.
"$PY" -m grpc_tools.protoc -Iprotos -Ithird_party/googleapis \
  --plugin=protoc-gen-openapiv2="$PLUGIN" \
  --openapiv2_out=gen/openapi \
  --openapiv2_opt=allow_merge=true,merge_file_name=chatstack \
  --openapiv2_opt=json_names_for_fields=false \
  --openapiv2_opt=ignore_go_package_option=true \
  --openapiv2_opt=openapi_configuration="$CONFIG" \
  chatstack/chat/v1/chat.proto
echo "==> generated gen/openapi/chatstack.swagger.json"
