#!/usr/bin/env bash
# Regenerates src/onnx/onnx_pb.ts from the pinned onnx.proto (ONNX 1.12.0, as shipped by Debian's python3-onnx
# and tagged v1.12.0 upstream). To move to another ONNX release, replace scripts/proto/onnx.proto with that
# release's onnx/onnx.proto and run `npm run gen:proto`.
set -euo pipefail
cd "$(dirname "$0")/.."
# The generator tools are fetched on demand (pinned), so they are not install-time dependencies of the tool.
npx --yes -p @bufbuild/buf@1.75.0 -p @bufbuild/protoc-gen-es@2.17.0 -c \
  "buf generate scripts/proto --template '{\"version\":\"v2\",\"plugins\":[{\"local\":\"protoc-gen-es\",\"out\":\"src/onnx\",\"opt\":[\"target=ts\",\"import_extension=js\"]}]}'"
echo "generated src/onnx/onnx_pb.ts"
