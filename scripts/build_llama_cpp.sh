#!/usr/bin/env bash
# Builds llama-cpp-python's wheel from the source pinned (with its hash) in requirements/llama-cpp-python.lock,
# with llama.cpp compiled for a fixed instruction-set baseline rather than for this machine's CPU.
# Why and what: docs/portable-build.md.
#
#   portable  (default) x86-64-v3: SSE4.2, AVX, AVX2, FMA, F16C, BMI2. Every x86-64 server CPU
#             since 2013 (Intel Haswell, AMD Zen 1) runs it. AVX-512 and AMX are off: a VM may
#             list them in /proc/cpuinfo without letting a process use them (AMX needs the kernel
#             to grant tile state), which is how a native build crashed on a Xeon.
#   avx512    the baseline plus AVX-512 (F, BW, DQ, VL, VBMI, VNNI, BF16), still fixed flags:
#             for bench/llama_build.py only, which measures what the wider kernels would buy on a
#             CPU that has them. Never installed; it does not run on CPUs without AVX-512.
#
# The wheel goes to a directory keyed by everything that shapes the binary (source hash, flags,
# compiler), ${CHATSTACK_WHEEL_CACHE:-${XDG_CACHE_HOME:-~/.cache}/chatstack/wheels}/<key>/, never to
# pip's or uv's cache, so no other build is ever taken for this one. A cached wheel is reused.
# Prints the wheel's path as its last line.
# Usage: scripts/build_llama_cpp.sh [portable|avx512]
set -euo pipefail
cd "$(dirname "$0")/.."

PROFILE=${1:-portable}
VENV=${VENV:-.venv} # a Python environment with requirements/build.lock installed
PY=$VENV/bin/python
case $PROFILE in
portable)
  ARCH_FLAGS="-DGGML_NATIVE=OFF -DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON \
-DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX_VNNI=OFF -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF \
-DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF \
-DGGML_AMX_BF16=OFF"
  ;;
avx512)
  ARCH_FLAGS="-DGGML_NATIVE=OFF -DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON \
-DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX_VNNI=OFF -DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON \
-DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF \
-DGGML_AMX_BF16=OFF"
  ;;
*)
  echo "usage: $0 [portable|avx512]" >&2
  exit 2
  ;;
esac
# No multimodal library (unused; it only lengthens the build); no ccache.
CMAKE_ARGS="$ARCH_FLAGS -DLLAVA_BUILD=OFF -DGGML_CCACHE=OFF -DLLAMA_BUILD_TESTS=OFF"

SPEC=$(cat requirements/llama-cpp-python.lock)
VERSION=$(sed -n 's/^llama-cpp-python==\([^ ]*\).*/\1/p' <<<"$SPEC")
SOURCE_HASH=$(grep -o 'sha256:[0-9a-f]*' <<<"$SPEC" | head -1)
COMPILER=$(${CC:-cc} --version 2>/dev/null | head -1)
KEY=$(printf '%s\n' "$VERSION" "$SOURCE_HASH" "$CMAKE_ARGS" "$COMPILER" "$PROFILE" |
  sha256sum | cut -c1-16)
CACHE=${CHATSTACK_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/chatstack/wheels}
OUT=$CACHE/llama-cpp-python-$VERSION-$PROFILE-$KEY
if wheel=$(ls "$OUT"/llama_cpp_python-*.whl 2>/dev/null | head -1) && [[ -n $wheel ]]; then
  echo "==> llama-cpp-python $VERSION ($PROFILE build) from $OUT" >&2
  echo "$wheel"
  exit 0
fi

echo "==> compiling llama.cpp for llama-cpp-python $VERSION ($PROFILE build; 3-5 minutes on 2 cores)" >&2
echo "    flags: $CMAKE_ARGS" >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The source, checked against the locked hash.
"$PY" -m pip download --quiet --no-deps --no-binary :all: --require-hashes \
  -r <(printf '%s\n' "$SPEC") -d "$work/src"
start=$SECONDS
# No build isolation: scikit-build-core, cmake and ninja are the locked ones in $VENV. The
# compiler's output streams to the log so a long build is never silent.
if ! CMAKE_ARGS="$CMAKE_ARGS" CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) PATH="$(cd "$VENV" && pwd)/bin:$PATH" \
  "$PY" -m pip wheel --no-deps --no-build-isolation --no-cache-dir -v \
  "$work"/src/llama_cpp_python-*.tar.gz -w "$work/wheel" 2>&1 | tee "$work/build.log" |
  grep --line-buffered -E '^\s*\[[0-9]+/[0-9]+\] ' |
  sed -u -E 's#^ *(\[[0-9]+/[0-9]+\]) .* -c .*/([^/]+)$#    \1 \2#; t; s#^ *(\[[0-9]+/[0-9]+\]) .*#    \1 linking#' >&2; then
  echo "error: the llama-cpp-python build failed; the end of its log:" >&2
  tail -40 "$work/build.log" >&2
  exit 1
fi
wheel=$(ls "$work"/wheel/llama_cpp_python-*.whl)
mkdir -p "$OUT"
printf 'profile=%s\nversion=%s\nsource=%s\ncompiler=%s\ncmake_args=%s\n' \
  "$PROFILE" "$VERSION" "$SOURCE_HASH" "$COMPILER" "$CMAKE_ARGS" >"$OUT/BUILD_INFO"
cp "$wheel" "$OUT/"
echo "    built in $((SECONDS - start)) s into $OUT" >&2
ls "$OUT"/llama_cpp_python-*.whl
