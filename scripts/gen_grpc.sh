#!/usr/bin/env bash
# Regenerate the committed gRPC stubs from proto/ccbridge/v1/consumer.proto (the source of truth).
#
# usage: scripts/gen_grpc.sh [OUT_DIR]
#   Without OUT_DIR: writes src/ccbridge/endpoints/grpc_gen/ and refreshes the packaged copy
#   src/ccbridge/proto/ccbridge/v1/consumer.proto. With OUT_DIR: writes only the stubs there (the
#   freshness test uses this). PYTHON picks the interpreter (default: .venv/bin/python, else python3).
#
# The proto is compiled under its package path so the descriptor pool knows it as
# "ccbridge/v1/consumer.proto" (no clash with another program's consumer.proto); the outputs are then
# moved into grpc_gen/ with their imports made package-relative. The output depends on the
# grpcio-tools version: the stubs require grpcio and protobuf at least as new as the generator.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/src/ccbridge/endpoints/grpc_gen}"
if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x "$root/.venv/bin/python" ]]; then PYTHON="$root/.venv/bin/python"; else PYTHON=python3; fi
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

"$PYTHON" -m grpc_tools.protoc -I "$root/proto" \
  --python_out="$tmp" --pyi_out="$tmp" --grpc_python_out="$tmp" \
  "$root/proto/ccbridge/v1/consumer.proto"

gen="$tmp/ccbridge/v1"
mkdir -p "$out"
sed -e "s/'ccbridge\.v1\.consumer_pb2'/'ccbridge.endpoints.grpc_gen.consumer_pb2'/" \
  "$gen/consumer_pb2.py" >"$out/consumer_pb2.py"
sed -e 's/^from ccbridge\.v1 import consumer_pb2 as /from . import consumer_pb2 as /' \
  "$gen/consumer_pb2_grpc.py" >"$out/consumer_pb2_grpc.py"
cp "$gen/consumer_pb2.pyi" "$out/consumer_pb2.pyi"
printf '"""Generated from proto/ccbridge/v1/consumer.proto by scripts/gen_grpc.sh; do not edit."""\n' \
  >"$out/__init__.py"

if [[ $# -eq 0 ]]; then
  mkdir -p "$root/src/ccbridge/proto/ccbridge/v1"
  cp "$root/proto/ccbridge/v1/consumer.proto" "$root/src/ccbridge/proto/ccbridge/v1/consumer.proto"
fi
