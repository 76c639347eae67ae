"""Teacher-forced scores equal a direct per-token computation, and encoding once equals re-encoding."""

from __future__ import annotations

import pytest
import torch

from quals.network import Seq2SeqNetwork
from quals.prefix_lm import PrefixLMForQAGen
from quals.teacher_forcing import token_logprobs
from tiny import tiny_bart, tiny_bert_config, tiny_tokenizer

START, PAD = 3, 0
SEQS = [[10, 11, 1, 20, 4], [12, 1, 21, 22, 23, 4], [30, 31, 32, 1, 40, 4]]


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    tok = tiny_tokenizer(str(tmp_path_factory.mktemp("tok")))
    enc = tok(["alice was born in paris . bob won the prize ."], return_tensors="pt")
    return len(tok), enc["input_ids"], enc["attention_mask"]


def _networks(vocab):
    torch.manual_seed(0)
    prefix = PrefixLMForQAGen(tiny_bert_config(vocab)).eval()
    return {"prefix-lm": prefix, "bart": Seq2SeqNetwork(tiny_bart(vocab, seed=0))}


def _direct(network, ids, mask, seq):
    """One sequence, full forward, no shared context: the plain definition of the score."""
    target = torch.tensor([seq])
    decoder_input = torch.cat([torch.tensor([[START]]), target[:, :-1]], dim=1)
    if isinstance(network, Seq2SeqNetwork):
        logits = network.model(input_ids=ids, attention_mask=mask, decoder_input_ids=decoder_input).logits
    else:
        logits = network(input_ids=ids, attention_mask=mask, decoder_input_ids=decoder_input).logits
    return torch.log_softmax(logits.float(), -1)[0].gather(-1, target[0][:, None]).squeeze(-1).tolist()


@pytest.mark.parametrize("arch", ["prefix-lm", "bart"])
def test_shared_context_scores_equal_direct_computation(source, arch):
    vocab, ids, mask = source
    network = _networks(vocab)[arch]
    with torch.no_grad():
        shared = token_logprobs(network, network.encode(ids, mask), SEQS, START, PAD)
        for seq, got in zip(SEQS, shared):
            assert len(got) == len(seq)
            assert got == pytest.approx(_direct(network, ids, mask, seq), abs=1e-5)


@pytest.mark.parametrize("arch", ["prefix-lm", "bart"])
def test_encode_once_equals_reencoding_per_sequence(source, arch):
    vocab, ids, mask = source
    network = _networks(vocab)[arch]
    with torch.no_grad():
        context = network.encode(ids, mask)
        once = token_logprobs(network, context, SEQS, START, PAD)
        each = [token_logprobs(network, network.encode(ids, mask), [s], START, PAD)[0] for s in SEQS]
        # A context selected out of a padded batch of two gives the same numbers.
        batch_ids = torch.cat([ids, torch.full_like(ids, PAD)], 0)
        batch_mask = torch.cat([mask, torch.zeros_like(mask)], 0)
        batch_mask[1, :3] = 1
        selected = network.encode(batch_ids, batch_mask).select(torch.tensor([0]))
        from_batch = token_logprobs(network, selected, SEQS, START, PAD)
    for a, b, c in zip(once, each, from_batch):
        assert a == pytest.approx(b, abs=1e-5)
        assert a == pytest.approx(c, abs=1e-5)
