#!/usr/bin/env bash
# The CONSEQ pipeline end to end on FRANK: MLE summarizer -> samples scored by QUALS -> S+/S- selected by
# QUALS and, as the paper's baseline, by ROUGE -> CONSEQ fine-tuning over several seeds -> ROUGE, QUALS
# and QAGS of every summarizer on the held-out documents. Every command resumes, so re-running this script
# after an interruption redoes nothing that finished.
#
#   . .venv/bin/activate
#   bash benchmarks/conseq_frank.sh RUN_DIR [CONFIG] [SEEDS]     # defaults: conseq_minilm_cpu.json, "0 1"
set -euo pipefail
RUN=${1:?usage: conseq_frank.sh RUN_DIR [CONFIG] [SEEDS]}
CONFIG=${2:-trainer_ext/configs/conseq_minilm_cpu.json}
SEEDS=${3:-0 1}
command -v quals-train >/dev/null || { echo "quals-train not found: install QUALS and activate its environment" >&2; exit 1; }

quals-train mle --config "$CONFIG" --output-dir "$RUN/mle"

# One set of samples serves both selections: the ROUGE build reuses the QUALS build's finished samples,
# and keeps as many documents as QUALS kept (its negative ratio is set to that share), so both CONSEQ
# runs see training sets of the same size.
quals-train build-contrastive --config "$CONFIG" --summarizer "$RUN/mle/final" --work-dir "$RUN/contrastive-quals"
mkdir -p "$RUN/contrastive-rouge"
for f in samples.jsonl samples.jsonl.meta.json; do
  [ -e "$RUN/contrastive-rouge/$f" ] || cp "$RUN/contrastive-quals/$f" "$RUN/contrastive-rouge/$f"
done
share=$(python -c "
import sys
from datasets import load_from_disk
kept = len(load_from_disk(sys.argv[1]))
if kept == 0:
    sys.exit('QUALS selected no document: raise contrastive.negative_ratio/positive_ratio in the recipe')
print(kept / sum(1 for _ in open(sys.argv[2])))" "$RUN/contrastive-quals/dataset" "$RUN/contrastive-quals/samples.jsonl")
quals-train build-contrastive --config "$CONFIG" --set "{\"contrastive\": {\"metric\": \"rouge\", \"negative_ratio\": $share}}" \
  --summarizer "$RUN/mle/final" --work-dir "$RUN/contrastive-rouge"

quals-train evaluate --config "$CONFIG" --summarizer "$RUN/mle/final" --out "$RUN/eval/mle"
for seed in $SEEDS; do
  for selection in quals rouge; do
    name="conseq-$selection-seed$seed"
    quals-train conseq --config "$CONFIG" --set "{\"conseq_training\": {\"seed\": $seed}}" --summarizer "$RUN/mle/final" \
      --data "$RUN/contrastive-$selection/dataset" --output-dir "$RUN/$name"
    quals-train evaluate --config "$CONFIG" --summarizer "$RUN/$name/final" --out "$RUN/eval/$name"
  done
done
python benchmarks/conseq_report.py "$RUN"/eval/*/report.json --paired-with mle
