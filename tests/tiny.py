"""Tiny local models and tokenizers for tests: random weights, a 60-word vocabulary, built in milliseconds."""

from __future__ import annotations

import dataclasses
import os

import torch
from transformers import BartConfig, BartForConditionalGeneration, BertConfig, BertTokenizer

from quals.prefix_lm import PrefixLMForQAGen
from quals.qa_format import PRESETS

SPECIALS = ["[PAD]", "[unused0]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = (
    "the a was born in where who what when is of and to . ? , paris london berlin rome madrid alice bob carol "
    "dave erin frank scientist painter writer city year 1990 1985 2001 won prize moved lived team played for "
    "which did he she it 2 3 4 5 many how"
).split()

# The bundled model's conventions (BERT WordPiece, [unused0] separator) with lengths that fit tiny models.
TINY_FORMAT = dataclasses.replace(
    PRESETS["minilm-prefix-lm"], max_source_length=96, max_target_length=24, description="tiny test format"
)


def tiny_tokenizer(folder: str) -> BertTokenizer:
    os.makedirs(folder, exist_ok=True)
    vocab = {token: i for i, token in enumerate(SPECIALS + WORDS)}
    tokenizer = BertTokenizer(vocab=vocab, do_lower_case=True)
    tokenizer.save_pretrained(folder)
    return tokenizer


def tiny_bert_config(vocab_size: int, seed: int = 0) -> BertConfig:
    return BertConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=128,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )


def tiny_prefix_lm(folder: str, seed: int = 0, fmt=TINY_FORMAT) -> str:
    """Save a random tiny prefix-LM QAGen (weights, tokenizer, qa_format.json) into ``folder``."""
    tokenizer = tiny_tokenizer(folder)
    torch.manual_seed(seed)
    model = PrefixLMForQAGen(tiny_bert_config(len(tokenizer)))
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    fmt.save(folder)
    return folder


def tiny_bart(vocab_size: int, seed: int = 0, eos_bias: float = 0.0) -> BartForConditionalGeneration:
    """A random tiny BART; ``eos_bias`` raises the EOS logit so beams finish before the length limit."""
    torch.manual_seed(seed)
    config = BartConfig(
        vocab_size=vocab_size,
        d_model=32,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=4,
        decoder_attention_heads=4,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_position_embeddings=128,
        pad_token_id=0,
        bos_token_id=3,
        eos_token_id=4,
        decoder_start_token_id=3,
        forced_bos_token_id=None,
        forced_eos_token_id=None,
        dropout=0.0,
        attention_dropout=0.0,
    )
    model = BartForConditionalGeneration(config).eval()
    with torch.no_grad():
        model.final_logits_bias[0, 4] = eos_bias
    return model
