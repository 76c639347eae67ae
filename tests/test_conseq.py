"""CONSEQ: the loss against a hand computation, one step's effect, accumulation equivalence, collation."""

from __future__ import annotations

import math

import pytest
import torch
from datasets import Dataset

from tiny import tiny_bart
from trainer_ext import ConSeqCollator, ConSeqConfig, ConSeqTrainer, conseq_loss

VOCAB = 60


def _hand_loss(pos_logits, pos_label, neg_logits, neg_label, eps):
    p = [math.exp(x) / sum(math.exp(y) for y in pos_logits) for x in pos_logits]
    q = [math.exp(x) / sum(math.exp(y) for y in neg_logits) for x in neg_logits]
    v = len(p)
    pos = (1 - eps) * -math.log(p[pos_label]) + eps / v * sum(-math.log(x) for x in p)
    neg = (1 - eps) * -math.log(1 - q[neg_label]) + eps / v * sum(-math.log(1 - x) for x in q)
    return pos, neg


@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_loss_matches_hand_computation_with_padding(eps):
    pos = [[0.0, 1.0, 2.0], [0.5, -1.0, 0.3]]
    neg = [[1.0, 0.0, 0.0], [2.0, 2.0, -3.0], [9.0, 9.0, 9.0]]
    pos_logits = torch.tensor([pos])
    neg_logits = torch.tensor([neg])
    pos_labels = torch.tensor([[2, 0]])
    neg_labels = torch.tensor([[0, 1, -100]])  # the third negative position is padding
    loss, stats = conseq_loss(pos_logits, pos_labels, neg_logits, neg_labels, label_smoothing=eps, return_stats=True)
    p1, _ = _hand_loss(pos[0], 2, neg[0], 0, eps)
    p2, _ = _hand_loss(pos[1], 0, neg[0], 0, eps)
    _, n1 = _hand_loss(pos[0], 2, neg[0], 0, eps)
    _, n2 = _hand_loss(pos[0], 2, neg[1], 1, eps)
    assert loss.item() == pytest.approx((p1 + p2 + n1 + n2) / 4, rel=1e-5)
    assert stats["pos_loss"] == pytest.approx((p1 + p2) / 2, rel=1e-5)
    assert stats["neg_loss"] == pytest.approx((n1 + n2) / 2, rel=1e-5)
    p_neg = [math.exp(neg[0][0]) / sum(math.exp(x) for x in neg[0]), math.exp(neg[1][1]) / sum(math.exp(x) for x in neg[1])]
    assert stats["neg_token_prob"] == pytest.approx(sum(p_neg) / 2, rel=1e-5)


def test_unlikelihood_is_finite_when_p_is_one():
    logits = torch.tensor([[[100.0, 0.0, 0.0]]])
    loss = conseq_loss(logits, torch.tensor([[0]]), logits, torch.tensor([[0]]), label_smoothing=0.1)
    assert torch.isfinite(loss) and loss.item() > 10  # clamped at -log(1e-20) / 2 tokens


@pytest.mark.parametrize("variant", ["token", "sequence"])
def test_trainer_loss_is_the_documented_function_with_stats_of_its_variant(tmp_path, variant):
    """compute_loss on one batch (no step count) equals conseq_loss of the same logits, weight included."""
    rows = _rows(4)
    rows[3].pop("negative_labels")  # a row with its positive term only
    trainer = _trainer(tmp_path, rows, loss_variant=variant, unlikelihood_weight=2.5, per_device_train_batch_size=4)
    batch = trainer._prepare_inputs(ConSeqCollator(0)(rows))
    trainer.model.eval()
    with torch.no_grad():
        loss = trainer.compute_loss(trainer.model, batch)
        pos_logits, neg_logits = trainer._forward_pairs(trainer.model, batch)
    expected, stats = conseq_loss(pos_logits, batch["labels"], neg_logits, batch["negative_labels"], 0.1, 2.5, variant,
                                  return_stats=True)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    prob = "neg_token_prob" if variant == "token" else "neg_sequence_prob"
    assert set(stats) == {"pos_loss", "neg_loss", prob} and 0 < stats[prob] < 1
    if variant == "sequence":  # per summary: -log p(y|x) of each positive, averaged over the 4 positives
        logp = torch.log_softmax(pos_logits, -1).gather(-1, batch["labels"].clamp(min=0)[..., None]).squeeze(-1)
        per_summary = -(logp * (batch["labels"] != -100)).sum(-1)
        assert stats["pos_loss"] == pytest.approx(per_summary.mean().item(), rel=1e-5)


def _rows(n=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    rows = []
    for i in range(n):
        src = torch.randint(10, VOCAB, (int(torch.randint(4, 9, (1,), generator=g)),), generator=g).tolist()
        pos = torch.randint(10, VOCAB, (int(torch.randint(2, 7, (1,), generator=g)),), generator=g).tolist() + [4]
        neg = torch.randint(10, VOCAB, (int(torch.randint(2, 7, (1,), generator=g)),), generator=g).tolist() + [4]
        rows.append({"input_ids": src, "labels": pos, "negative_labels": neg, "document": f"doc {i}"})
    return rows


def _trainer(tmp_path, rows, likely_tokens=(), **args):
    model = tiny_bart(VOCAB, seed=0)
    with torch.no_grad():  # make some tokens likely, so that unlikelihood has something to push down
        model.final_logits_bias[0, list(likely_tokens)] = 3.0
    config = ConSeqConfig(
        output_dir=str(tmp_path), optim="sgd", learning_rate=0.5, lr_scheduler_type="constant", max_grad_norm=0.0,
        max_steps=1, report_to="none", use_cpu=True, save_strategy="no", logging_steps=1, seed=0, **args,
    )
    return ConSeqTrainer(model=model, args=config, train_dataset=Dataset.from_list(rows), data_collator=ConSeqCollator(0))


def _seq_logp(model, row, key):
    batch = ConSeqCollator(0)([row])
    labels = batch[key]
    with torch.no_grad():
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                       decoder_input_ids=model.prepare_decoder_input_ids_from_labels(labels=labels)).logits
    return torch.log_softmax(logits, -1).gather(-1, labels[..., None]).sum().item()


def test_one_step_raises_positive_and_lowers_negative_likelihood(tmp_path):
    likely = range(50, 54)
    rows = _rows(4)
    for i, r in enumerate(rows):  # negatives made of likely tokens, as sampled summaries are
        r["negative_labels"] = [50 + (i + j) % 4 for j in range(5)] + [4]
    positives_only = [{k: v for k, v in r.items() if k != "negative_labels"} for r in rows]
    conseq = _trainer(tmp_path / "c", rows, likely, per_device_train_batch_size=4, label_smoothing_factor=0.0, unlikelihood_weight=4.0)
    # A weight of 4 lets the small unlikelihood gradient (p ~ 0.1) outweigh what the positives share with
    # the negatives (EOS, decoder states); with weight 1 the plain-MLE comparison below still holds.
    mle = _trainer(tmp_path / "m", positives_only, likely, per_device_train_batch_size=4, label_smoothing_factor=0.0)
    before = [(_seq_logp(conseq.model, r, "labels"), _seq_logp(conseq.model, r, "negative_labels")) for r in rows]
    conseq.train()
    mle.train()
    after = [(_seq_logp(conseq.model, r, "labels"), _seq_logp(conseq.model, r, "negative_labels")) for r in rows]
    after_mle_neg = [_seq_logp(mle.model, r, "negative_labels") for r in rows]
    assert sum(a[0] for a in after) > sum(b[0] for b in before)  # positives more likely
    assert sum(a[1] for a in after) < sum(b[1] for b in before)  # negatives less likely
    assert sum(a[1] for a in after) < sum(after_mle_neg)  # and less likely than after a plain MLE step
    logged = conseq.state.log_history[0]
    assert {"pos_loss", "neg_loss", "neg_token_prob"} <= set(logged) and logged["neg_token_prob"] > 0.1


@pytest.mark.parametrize("without_negative", [(), (2, 3)])  # half the rows without one: micro-batches differ in negatives
def test_accumulation_gives_the_same_gradients_as_a_bigger_batch(tmp_path, without_negative):
    rows = _rows(4)
    for i in without_negative:
        rows[i].pop("negative_labels")
    big = _trainer(tmp_path / "big", rows, per_device_train_batch_size=4, gradient_accumulation_steps=1)
    small = _trainer(tmp_path / "small", rows, per_device_train_batch_size=2, gradient_accumulation_steps=2)
    start = {k: v.clone() for k, v in big.model.state_dict().items()}
    big.train()
    small.train()
    moved = 0.0
    for name, value in big.model.state_dict().items():
        assert torch.allclose(value, small.model.state_dict()[name], atol=1e-6), name
        moved = max(moved, (value - start[name]).abs().max().item())
    assert moved > 1e-4  # the step really changed the weights
    assert big.state.log_history[0]["loss"] == pytest.approx(small.state.log_history[0]["loss"], rel=1e-5)


def test_extra_columns_survive_pruning_and_collator_pads_separately(tmp_path):
    rows = _rows(3)
    trainer = _trainer(tmp_path, rows, per_device_train_batch_size=3)
    kept = trainer._remove_unused_columns(Dataset.from_list(rows))
    assert set(kept.column_names) == {"input_ids", "labels", "negative_labels"}
    batch = ConSeqCollator(pad_token_id=0)([{k: r[k] for k in kept.column_names} for r in rows])
    assert batch["input_ids"].shape[1] == max(len(r["input_ids"]) for r in rows)
    assert batch["negative_labels"].shape[1] == max(len(r["negative_labels"]) for r in rows)
    assert batch["labels"].shape[1] == max(len(r["labels"]) for r in rows)
    assert (batch["attention_mask"].sum(1) == torch.tensor([len(r["input_ids"]) for r in rows])).all()
    assert (batch["negative_labels"] == -100).sum() == sum(batch["negative_labels"].shape[1] - len(r["negative_labels"]) for r in rows)
    assert torch.equal(batch["negative_input_ids"], batch["input_ids"])  # no source of their own: the row's


def test_rows_without_negatives_add_only_their_positive_term(tmp_path):
    """A batch may mix rows with and without a negative, a negative may bring its own source, and masked
    negative labels come with the whole target's decoder inputs: the loss is the hand-assembled sum over
    the positives of every row and the unmasked negative tokens of the rows that have one."""
    rows = _rows(3)
    rows[1].pop("negative_labels")
    rows[2]["negative_input_ids"] = [11, 12, 13, 14, 15, 16, 17, 18, 19, 20]  # longer than any source
    for r in (rows[0], rows[2]):  # only the last two tokens carry a loss, after the whole target
        r["negative_decoder_input_ids"] = [3] + r["negative_labels"][:-1]
        r["negative_labels"] = [-100] * (len(r["negative_labels"]) - 2) + r["negative_labels"][-2:]
    batch = ConSeqCollator(0)(rows)
    assert batch["negative_labels"].shape[0] == 2 and batch["negative_input_ids"][1].tolist() == rows[2]["negative_input_ids"]
    trainer = _trainer(tmp_path, rows, per_device_train_batch_size=3, label_smoothing_factor=0.0)
    model = trainer.model.eval()
    loss = trainer.compute_loss(model, batch)

    def token_nll(source, labels, decoder_inputs=None, unlikely=False):
        ids, target = torch.tensor([source]), torch.tensor([labels])
        if decoder_inputs is None:
            decoder_inputs = model.prepare_decoder_input_ids_from_labels(labels=target)[0].tolist()
        logits = model(input_ids=ids, attention_mask=torch.ones_like(ids), decoder_input_ids=torch.tensor([decoder_inputs])).logits
        logp = torch.log_softmax(logits, -1)[0]
        kept = [t for t, y in enumerate(labels) if y != -100]
        values = [(-torch.log1p(-logp[t, labels[t]].exp()) if unlikely else -logp[t, labels[t]]).item() for t in kept]
        return sum(values), len(kept)

    parts = [token_nll(r["input_ids"], r["labels"]) for r in rows]
    parts += [token_nll(rows[0]["input_ids"], rows[0]["negative_labels"], rows[0]["negative_decoder_input_ids"], True),
              token_nll(rows[2]["negative_input_ids"], rows[2]["negative_labels"], rows[2]["negative_decoder_input_ids"], True)]
    expected = sum(p for p, _ in parts) / sum(n for _, n in parts)
    assert loss.item() == pytest.approx(expected, rel=1e-4)
    rows[2].pop("negative_decoder_input_ids")
    with pytest.raises(ValueError, match="negative_decoder_input_ids"):
        ConSeqCollator(0)(rows)


def test_config_rejects_unknown_variant(tmp_path):
    with pytest.raises(ValueError, match="loss_variant"):
        ConSeqConfig(output_dir=str(tmp_path), loss_variant="sentence", report_to="none")


def test_two_processes_give_the_same_loss_and_step_as_one(tmp_path):
    import json
    import os
    import subprocess
    import sys

    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scripts", "conseq_one_step.py")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    one, two = tmp_path / "one" / "r.json", tmp_path / "two" / "r.json"
    one.parent.mkdir()
    two.parent.mkdir()
    subprocess.run([sys.executable, script, str(one), "4"], env=env, check=True, capture_output=True, timeout=300)
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", script, str(two), "2"],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    a, b = json.loads(one.read_text()), json.loads(two.read_text())
    assert a["loss"] == pytest.approx(b["loss"], rel=1e-5)
    for key in ("pos_loss", "neg_loss", "neg_token_prob"):  # logged over both processes' tokens, not rank 0's
        assert a[key] == pytest.approx(b[key], rel=1e-5), key
    assert a["weights"] == pytest.approx(b["weights"], rel=1e-6)
    assert a["weights_abs"] == pytest.approx(b["weights_abs"], rel=1e-6)
