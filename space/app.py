"""QUALS Space: score a summary against its document and see which facts the document does not support.

Run locally with ``python space/app.py`` (CPU, bundled QAGen). ``QUALS_MODEL`` selects another QAGen
checkpoint and ``QUALS_SETTINGS`` (JSON) other ``QualsScorer`` settings.
"""

from __future__ import annotations

import json
import os
import re
from functools import lru_cache
from typing import Any

import gradio as gr
import pandas as pd

import quals
from quals.calibration import NO_SCORE
from quals.demo import load_examples

MODEL = os.environ.get("QUALS_MODEL", "bundled")
SETTINGS: dict[str, Any] = json.loads(os.environ.get("QUALS_SETTINGS", "{}"))
MAX_DOCUMENT_CHARS = 12_000
MAX_SUMMARY_CHARS = 1_500
MAX_SUMMARIES = 4
TABLE_COLUMNS = ["summary", "question", "answer", "given the summary", "given the document", "difference"]
# Fixed shares of the page, text wrapped: sized by their content, long questions pushed the last columns out of view.
TABLE_WIDTHS = ["9%", "37%", "18%", "12%", "12%", "12%"]
SUPPORT_COLORS = {"supported": "#2e7d32", "weak": "#f9a825", "unsupported": "#c62828"}


@lru_cache(maxsize=1)
def get_scorer() -> quals.QualsScorer:
    """The scorer, loaded once per process on first use."""
    return quals.QualsScorer(MODEL, **SETTINGS)


UNCALIBRATED = ("this model has no calibration for these settings (calibration.json, written by benchmarks/calibrate.py), "
                "so the score is not read and answers are not coloured; compare scores only with each other.")


def reading(score: float | None, calibration: quals.Calibration | None) -> str:
    """A one-line plain-language reading of a QUALS score, relative to the model's calibration summaries."""
    if calibration is not None:
        return calibration.reading(score)
    return UNCALIBRATED if score is not None else NO_SCORE


def parse_inputs(document: str, summaries_text: str) -> tuple[str, list[str]]:
    """Validate the two boxes; one summary per non-empty line, lines ended by "\\n" only (a pasted U+2028 or
    form feed stays inside its summary, as in ``quals.readers.read_lines``). Raises gr.Error with the limit broken."""
    document = (document or "").strip()
    summaries = [s.strip() for s in (summaries_text or "").split("\n") if s.strip()]
    if not document:
        raise gr.Error("Paste the source document in the first box.")
    if not summaries:
        raise gr.Error("Write at least one summary (one per line) in the second box.")
    if len(document) > MAX_DOCUMENT_CHARS:
        raise gr.Error(f"The document has {len(document):,} characters; this demo takes at most {MAX_DOCUMENT_CHARS:,}.")
    if len(summaries) > MAX_SUMMARIES:
        raise gr.Error(f"{len(summaries)} summaries given; this demo scores at most {MAX_SUMMARIES} at once.")
    for i, s in enumerate(summaries, 1):
        if len(s) > MAX_SUMMARY_CHARS:
            raise gr.Error(f"Summary {i} has {len(s):,} characters; this demo takes at most {MAX_SUMMARY_CHARS:,} per summary.")
    return document, summaries


def answer_spans(summary: str, answer: str) -> list[tuple[int, int]]:
    """(start, end) of every case-insensitive occurrence of ``answer`` in ``summary``, overlaps included,
    found on the summary itself: lower-casing first would shift the spans ("İ" lower-cases to two characters)."""
    pattern = re.compile(f"(?=({re.escape(answer)}))", re.IGNORECASE)  # a lookahead, so matches may overlap
    return [m.span(1) for m in pattern.finditer(summary)]


def highlight(summary: str, pairs: list[quals.QAPairResult], calibration: quals.Calibration | None) -> list[tuple[str, str | None]]:
    """Summary text split into spans labelled by the worst support of any answer found there, support read
    against the pairs of the calibration's faithful summaries (no labels without a calibration)."""
    if calibration is None:
        return [(summary, None)]
    rank = {"supported": 0, "weak": 1, "unsupported": 2}
    labels: list[str | None] = [None] * len(summary)
    for pair in pairs:
        label = calibration.pair_support(pair.difference)
        for start, end in answer_spans(summary, pair.answer):
            for i in range(start, end):
                if labels[i] is None or rank[label] > rank[labels[i]]:
                    labels[i] = label
    spans: list[tuple[str, str | None]] = []
    for ch, label in zip(summary, labels):
        if spans and spans[-1][1] == label:
            spans[-1] = (spans[-1][0] + ch, label)
        else:
            spans.append((ch, label))
    return spans


EMPTY_PAIR: dict[str, list] = {"tokens": [], "token_logprobs_summary": [], "token_logprobs_source": []}


def pair_key(k: int, pair: quals.QAPairResult) -> str:
    return f"S{k} | {pair.question} -> {pair.answer}"


def readable_tokens(tokens: list[str], fmt: quals.QAFormat) -> list[str]:
    """The pair's token strings with the QAGen's separator and end tokens named in words, for the chart's axis."""
    names = {fmt.separator_token: "answer:", fmt.eos_token: "end"}
    return [names.get(token, token) for token in tokens]


def token_frame(pair: dict[str, Any]) -> pd.DataFrame:
    """Per-token probabilities of one QA pair given the summary and given the document, for the chart."""
    import math

    rows = []
    for i, token in enumerate(pair["tokens"]):
        label = f"{i:02d} {token}"
        rows.append({"token": label, "probability": math.exp(pair["token_logprobs_summary"][i]), "given": "summary"})
        rows.append({"token": label, "probability": math.exp(pair["token_logprobs_source"][i]), "given": "document"})
    return pd.DataFrame(rows, columns=["token", "probability", "given"])


def score(document: str, summaries_text: str):
    """Score every summary; return the report, the pair table, the highlights, the pair menu and state."""
    document, summaries = parse_inputs(document, summaries_text)
    scorer = get_scorer()
    calibration = scorer.calibration
    results = scorer.score([document] * len(summaries), summaries, return_qa_pairs=True)
    lines, spans, pairs = [], [], []
    for k, (summary, result) in enumerate(zip(summaries, results), 1):
        value = "no score" if result.quals is None else f"{result.quals:.3f}"
        lines.append(f"**Summary {k}: QUALS {value}** ({result.num_qa_pairs} QA pairs): {reading(result.quals, calibration)}")
        pairs.extend((k, pair) for pair in result.qa_pairs)
        if spans:
            spans.append(("\n\n", None))
        spans.extend(highlight(summary, result.qa_pairs, calibration))
    if calibration is not None:
        lines.append(f"\n<sub>{calibration.legend()}</sub>")
    lines.append(f"\n<sub>{scorer.signature()}</sub>")
    pairs.sort(key=lambda kp: kp[1].difference)  # least supported by the source first
    table = [[k, p.question, p.answer, round(p.logprob_summary, 3), round(p.logprob_source, 3), round(p.difference, 3)] for k, p in pairs]
    fmt = scorer.qagen.format
    state = {pair_key(k, p): {**p.__dict__, "tokens": readable_tokens(p.tokens, fmt), "difference": p.difference} for k, p in pairs}
    choices = list(state)
    first = choices[0] if choices else None
    frame = pd.DataFrame(table, columns=TABLE_COLUMNS)
    return "\n\n".join(lines), frame, spans, gr.update(choices=choices, value=first), select_pair(first, state), state


def select_pair(choice: str | None, state: dict[str, Any]) -> pd.DataFrame:
    """The chart of the chosen pair; an empty chart when nothing is chosen."""
    return token_frame(state[choice] if choice in state else EMPTY_PAIR)


def build_demo() -> gr.Blocks:
    examples = [[ex["document"], f"{ex['faithful']}\n{ex['altered']}"] for ex in load_examples()]
    # No usage analytics: the app runs offline as readily as on a Space, and sends nothing anywhere.
    with gr.Blocks(title="QUALS: factual consistency of summaries", analytics_enabled=False) as demo:
        gr.Markdown(
            "# QUALS\nHow well does a document support a summary? QUALS asks a question-answer generation model "
            "(QAGen) to write questions whose answers are in the summary, then compares how likely each "
            "question-answer pair is given the **document** and given the **summary**. Pairs the document does "
            "not support point at wrong facts. One summary per line; scores are comparable under the same signature."
        )
        with gr.Row():
            document = gr.Textbox(label="Document", lines=12, max_lines=24, elem_id="document")
            summaries = gr.Textbox(label="Summaries (one per line)", lines=12, max_lines=24, elem_id="summaries")
        button = gr.Button("Score", variant="primary", elem_id="score")
        examples_slot = gr.Column()  # filled below, once the outputs exist: above the empty output panels
        report = gr.Markdown(elem_id="report")
        spans = gr.HighlightedText(label="Answers in the summary, by support", color_map=SUPPORT_COLORS, elem_id="highlights")
        table = gr.Dataframe(headers=TABLE_COLUMNS, label="QA pairs, least supported first; mean log-probability per "
                             "token given the summary and given the document, and their difference",
                             interactive=False, wrap=True, column_widths=TABLE_WIDTHS, elem_id="pairs")
        with gr.Row():
            pick = gr.Dropdown(label="QA pair", choices=[], elem_id="pick")
        # No fixed height: at 320 px the legend under the slanted token labels was cut off, swatches and all.
        chart = gr.LinePlot(x="token", y="probability", color="given", color_map={"summary": "#4c78a8", "document": "#f58518"},
                            color_title="given the", label="Per-token probability of the selected pair", elem_id="chart",
                            x_label_angle=-45, y_lim=[0, 1])
        state = gr.State({})
        outputs = [report, table, spans, pick, chart, state]
        button.click(score, inputs=[document, summaries], outputs=outputs, api_name="score")
        pick.change(select_pair, inputs=[pick, state], outputs=chart, api_name=False)
        with examples_slot:
            # Run on click, not cached: Gradio's example cache cannot replay this output (its lazy mode fails
            # rebuilding the Dropdown from our update, and a cached gr.State comes back empty).
            gr.Examples(examples, inputs=[document, summaries], outputs=outputs, fn=score, run_on_click=True,
                        cache_examples=False, label="Examples: a faithful summary and its altered twin; click one to score it",
                        elem_id="examples")
    demo.queue(default_concurrency_limit=1, max_size=64)
    return demo


demo = build_demo()

if __name__ == "__main__":
    demo.launch()
