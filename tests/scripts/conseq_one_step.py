"""One ConSeqTrainer step on fixed data; rank 0 writes the logged loss and a weight checksum to argv[1].

Run alone (batch 4) or under torchrun with 2 processes (batch 2 each): both must agree.
"""

import json
import os
import sys

import torch
from datasets import Dataset

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from test_conseq import VOCAB, _rows  # noqa: E402
from tiny import tiny_bart  # noqa: E402
from trainer_ext import ConSeqCollator, ConSeqConfig, ConSeqTrainer  # noqa: E402

out_path, per_device = sys.argv[1], int(sys.argv[2])
config = ConSeqConfig(
    output_dir=os.path.dirname(out_path), optim="sgd", learning_rate=0.5, lr_scheduler_type="constant", max_grad_norm=0.0,
    max_steps=1, report_to="none", use_cpu=True, save_strategy="no", logging_steps=1, seed=0,
    per_device_train_batch_size=per_device, ddp_backend="gloo" if int(os.environ.get("WORLD_SIZE", "1")) > 1 else None,
)
trainer = ConSeqTrainer(model=tiny_bart(VOCAB, seed=0), args=config, train_dataset=Dataset.from_list(_rows(4)), data_collator=ConSeqCollator(0))
trainer.train()
if trainer.args.process_index == 0:
    weights = torch.cat([p.detach().flatten() for p in trainer.model.parameters()])
    with open(out_path, "w") as f:
        logged = trainer.state.log_history[0]
        json.dump({"loss": logged["loss"], **{k: logged[k] for k in ("pos_loss", "neg_loss", "neg_token_prob")}, "weights": weights.double().sum().item(),
                   "weights_abs": weights.double().abs().sum().item()}, f)
if torch.distributed.is_initialized():
    # Both ranks are done once they meet here. Tearing gloo down (at interpreter exit, and even after
    # destroy_process_group) has aborted a rank at random on a loaded machine ("terminate called without
    # an active exception"), failing this test after its work was done; so the ranks leave without it.
    torch.distributed.barrier()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
