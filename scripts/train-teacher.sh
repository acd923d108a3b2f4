#!/usr/bin/env bash
# Train the shipped Fashion-MNIST teacher (models/fashion-mnist-teacher/model.onnx) with this tool itself, on the full
# 60,000 training images of Debian's dataset-fashion-mnist; validation is the 10,000 test images, none of which are in
# the embedded subset's training split (the subset's 2,000 test images are a subset of these same test images).
# Usage: bash scripts/train-teacher.sh [run-dir]   (about 40 minutes on 2 idle cores)
set -euo pipefail
cd "$(dirname "$0")/.."
run=${1:-runs/teacher}
model=${TEACHER_MODEL:-zoo:cnn-wide}
epochs=${TEACHER_EPOCHS:-20}
args=(train --model "$model" --data fashion-mnist --epochs "$epochs" --lr 0.05 --schedule cosine --weight-decay 5e-4
  --batch-size 128 --augment cifar --seed 0 --out "$run")
if [[ -f "$run/checkpoint.bin" && ! -f "$run/model.onnx" ]]; then args+=(--resume "$run"); fi
ONNX_DISTILL_SOURCE=1 node bin/onnx-distill.js "${args[@]}" 2>&1 | tee -a "$run.log"
[[ -f "$run/model.onnx" ]] && node --import tsx scripts/ship-teacher.ts "$run"
