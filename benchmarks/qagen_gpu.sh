#!/usr/bin/env bash
# The QAGen recipe on one GPU in one short, unattended call (the bundled model was trained this way).
#
#   OUT=results bash benchmarks/qagen_gpu.sh
#
# Steps: a smoke run of the recipe that also measures steps per second; the full run of
# trainer_ext/configs/qagen_minilm_gpu.json with its step count fitted to TRAIN_SECONDS (the linear
# schedule then always completes); export of the newest checkpoint (float16 weights, split into 15 MB
# parts so they fit a transfer limit); a QUALS timing on QAGS-C with the new model on the GPU.
# Inputs, prepared beside the checkout when it has no network (see BENCHMARKS.md, "QAGen on one GPU"):
#   .gpu/minilm/      MiniLM-L6 (config, tokenizer, model.fp16.safetensors)
#   .gpu/*.jsonl.gz   SQuAD v1.1 train and dev;  .gpu/mturk_cnndm.jsonl   QAGS-C
#   .whl/             wheels of packages the GPU machine lacks (datasets, dill, multiprocess), optional
set -euo pipefail
OUT=${OUT:?set OUT to the results folder}
WORK=${WORK:-/tmp/qagen-gpu}
TRAIN_SECONDS=${TRAIN_SECONDS:-240}   # wall-time budget of the full run's training steps
MAX_STEPS=${MAX_STEPS:-5400}          # about 4 epochs of SQuAD train at batch 64
SMOKE_STEPS=${SMOKE_STEPS:-60}
PY=${PY:-python3}
DEVICE=${DEVICE:-cuda}
TRAINING=${TRAINING:-'"bf16": true'}  # training-argument overrides; a CPU dry run: '"use_cpu": true'
CONFIG=trainer_ext/configs/qagen_minilm_gpu.json
mkdir -p "$OUT" "$WORK"
pack() {  # whatever exists comes back, also after a failure
  tar czf "$OUT/results.tar.gz" -C "$WORK" --ignore-failed-read machine.txt smoke.log full.log trainer_state.json \
    model.sha256 meta_eval_gpu.json meta_eval_gpu.log gpu_scores.jsonl 2>/dev/null || true
  ls -la "$OUT"
}
trap pack EXIT
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
WHEELS=${WHEELS:-.whl}
if compgen -G "$WHEELS/*.whl" >/dev/null; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$WHEELS"/*.whl
  export PYTHONPATH=/tmp/site:$PWD
else
  export PYTHONPATH=$PWD
fi
{ date -u; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
  $PY -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)"; } \
  | tee "$WORK/machine.txt"

# MiniLM travels as float16 (half the bytes); training starts from float32 copies of those values.
$PY - <<'EOF'
import os, shutil
import torch
from safetensors.torch import load_file, save_file
src, dst = ".gpu/minilm", "/tmp/minilm"
os.makedirs(dst, exist_ok=True)
weights = load_file(os.path.join(src, "model.fp16.safetensors"))
save_file({k: v.float() if v.is_floating_point() else v for k, v in weights.items()},
          os.path.join(dst, "model.safetensors"), metadata={"format": "pt"})
for name in os.listdir(src):
    if not name.endswith(".safetensors"):
        shutil.copy(os.path.join(src, name), dst)
EOF
DATA='"base_model": "/tmp/minilm", "train_files": ["./.gpu/train-v1.1.jsonl.gz"], "dev_file": "./.gpu/dev-v1.1.jsonl.gz"'

# 1. Smoke run: the whole recipe on 4,000 rows; its speed sizes the full run.
$PY -m trainer_ext.cli qagen --config $CONFIG --output-dir "$WORK/smoke" --no-resume --max-steps "$SMOKE_STEPS" \
  --set "{$DATA, \"max_train_examples\": 4000, \"dev_examples\": 64,
          \"training\": {\"save_steps\": $SMOKE_STEPS, \"eval_steps\": $SMOKE_STEPS, \"logging_steps\": 10, $TRAINING}}" \
  2>&1 | tee "$WORK/smoke.log" | grep -v "it/s\]$" || true
# Steps per second from the Trainer's final log line of the smoke run.
SPS=$(grep -o "train_steps_per_second[^0-9]*[0-9.]*" "$WORK/smoke.log" | tail -1 | grep -o "[0-9.]*$" || true)
if [ -z "$SPS" ]; then echo "no steps-per-second in the smoke log" >&2; exit 1; fi
STEPS=$($PY -c "print(max(1, min($MAX_STEPS, int($TRAIN_SECONDS * $SPS))))")
echo "smoke: $SPS steps/s -> full run of $STEPS steps" | tee -a "$WORK/machine.txt"

# 2. Full run. A timeout guards the budget; checkpoints every 500 steps mean nothing is lost if it fires.
timeout $((TRAIN_SECONDS * 2)) $PY -m trainer_ext.cli qagen --config $CONFIG --output-dir "$WORK/full" \
  --max-steps "$STEPS" --set "{$DATA, \"training\": {$TRAINING}}" 2>&1 | tee "$WORK/full.log" | grep -v "it/s\]$" \
  || echo "full run stopped by its timeout; exporting the newest checkpoint" | tee -a "$WORK/machine.txt"

# 3. Export (float16 weights) and split for the transfer.
$PY -m trainer_ext.cli export-qagen --config $CONFIG --run "$WORK/full" --out "$WORK/qagen" --dtype float16
cp "$(ls -d "$WORK"/full/checkpoint-* | sort -t- -k2 -n | tail -1)/trainer_state.json" "$WORK/"
(cd "$WORK/qagen" && sha256sum model.safetensors > "$WORK/model.sha256" && split -b 15M -d model.safetensors "$OUT/model.safetensors.part")

# 4. QUALS on the GPU with the new model: seconds per summary on QAGS-C (default settings, bfloat16).
timeout 90 $PY benchmarks/meta_eval.py --data .gpu/mturk_cnndm.jsonl --model "$WORK/qagen" --device "$DEVICE" \
  --limit 100 --scores "$WORK/gpu_scores.jsonl" > "$WORK/meta_eval_gpu.json" 2> "$WORK/meta_eval_gpu.log" \
  || echo "meta-eval stopped (timeout or error); see meta_eval_gpu.log" | tee -a "$WORK/machine.txt"

