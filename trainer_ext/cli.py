"""``quals-train``: the training recipes from the command line (thin over ``trainer_ext``)."""

from __future__ import annotations

import argparse
import json
import logging
import sys


def set_help(example: str) -> str:
    """``--set``'s help, with an example that this subcommand's recipe accepts."""
    return f"JSON object of recipe overrides; objects merge key by key, data paths are relative to the working directory, e.g. '{example}'"


SQUAD_SET = '{"training": {"seed": 1}, "train_files": ["squad-train.jsonl"]}'


def json_object(text: str) -> dict:
    """``--set``'s value: a JSON object, or a usage error that says what was wrong."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise argparse.ArgumentTypeError(f"not valid JSON ({e}); quote it for the shell, e.g. --set '{{\"seed\": 1}}'") from e
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"must be a JSON object of recipe fields, got {type(value).__name__}")
    return value


def _recipe(cls: type, args: argparse.Namespace, reads_data: bool = True):
    """The recipe of ``--config`` with ``--set`` (and, for the SQuAD recipes, ``--max-steps``) applied; the
    data files it will read are checked before any model loads."""
    recipe = cls.from_json(args.config, args.set or {})
    if reads_data:
        recipe.check_files()
    if getattr(args, "max_steps", None) is not None:
        recipe.training["max_steps"] = args.max_steps
    return recipe


def _qagen(args: argparse.Namespace) -> None:
    from .qagen_recipe import QAGenRecipe, train_qagen

    train_qagen(_recipe(QAGenRecipe, args), args.output_dir, resume=not args.no_resume)


def _qa(args: argparse.Namespace) -> None:
    from .qa_recipe import QARecipe, train_qa

    train_qa(_recipe(QARecipe, args), args.output_dir, resume=not args.no_resume)


def _export_qagen(args: argparse.Namespace) -> None:
    import torch

    from .qagen_recipe import QAGenRecipe, export_qagen, latest_checkpoint

    recipe = QAGenRecipe.from_json(args.config)
    checkpoint = args.checkpoint or latest_checkpoint(args.run)
    card = open(args.model_card, encoding="utf-8").read() if args.model_card else f"# QAGen\n\nExported from {checkpoint}.\n"
    out = export_qagen(checkpoint, args.out, recipe.format(), card, dtype=getattr(torch, args.dtype))
    print(out)


def _export_qa(args: argparse.Namespace) -> None:
    from .qa_recipe import export_qa
    from .qagen_recipe import latest_checkpoint

    checkpoint = args.checkpoint or latest_checkpoint(args.run)
    card = open(args.model_card, encoding="utf-8").read() if args.model_card else f"# QA model\n\nExported from {checkpoint}.\n"
    print(export_qa(checkpoint, args.out, card))


def _mle(args: argparse.Namespace) -> None:
    from .summarization import SummarizerRecipe, train_summarizer

    recipe = _recipe(SummarizerRecipe, args)
    documents, references = recipe.rows("train")
    train_summarizer(recipe, recipe.mle_training, args.output_dir, recipe.base_model, True, (documents, references, None))


def _build_contrastive(args: argparse.Namespace) -> None:
    from quals.building_blocks import processes

    from .contrastive_data import build_contrastive_dataset
    from .summarization import SummarizerRecipe, load_summarizer

    recipe = _recipe(SummarizerRecipe, args)
    config = recipe.contrastive_config()
    procs = processes()
    model, tokenizer = load_summarizer(args.summarizer)
    if procs.device:
        model.to(procs.device)
    scorer = None
    if config.metric == "quals":
        from quals import QualsScorer

        scorer = QualsScorer(**{"device": procs.device, **recipe.quals})
    documents, references = recipe.rows("train")
    data = build_contrastive_dataset(documents, references, model, tokenizer, args.work_dir, config, scorer, procs)
    if procs.is_main:
        print(f"{len(data)} of {len(documents)} documents selected -> {args.work_dir}/dataset")


def _conseq(args: argparse.Namespace) -> None:
    from datasets import load_from_disk

    from .summarization import SummarizerRecipe, train_summarizer

    recipe = _recipe(SummarizerRecipe, args, reads_data=False)
    if recipe.eval_rows is not None:  # the training data is --data; data_file only feeds the evaluation rows
        recipe.check_files()
    data = load_from_disk(args.data)
    train_summarizer(
        recipe, recipe.conseq_training, args.output_dir, args.summarizer, False,
        (data["document"], data["positive"], data["negative"]),
    )


def _evaluate(args: argparse.Namespace) -> None:
    from .evaluation import evaluate_summarizer
    from .summarization import SummarizerRecipe

    report = evaluate_summarizer(_recipe(SummarizerRecipe, args), args.summarizer, args.out, args.metrics.split(","))
    print(json.dumps(report, indent=2))


def add_checkpoint_choice(parser: argparse.ArgumentParser) -> None:
    """``--run`` (its newest checkpoint) or ``--checkpoint``: exactly one of the two."""
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--run", help="run folder; its newest checkpoint is exported")
    which.add_argument("--checkpoint", help="a specific checkpoint folder instead of --run")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="quals-train", description="Training recipes of QUALS.")
    sub = parser.add_subparsers(dest="command", required=True)

    for name, func, what in (
        ("qagen", _qagen, "a QAGen (or, with a question-generation qa_format, QAGS's question generator)"),
        ("qa", _qa, "QAGS's extractive question answerer"),
    ):
        p = sub.add_parser(name, help=f"fine-tune {what} on SQuAD-format data (resumes from output_dir)")
        p.add_argument("--config", required=True, help="recipe JSON (see trainer_ext/configs/)")
        p.add_argument("--output-dir", required=True, help="training state: checkpoints and logs")
        p.add_argument("--max-steps", type=int, default=None, help="override training.max_steps")
        p.add_argument("--set", type=json_object, default=None, help=set_help(SQUAD_SET))
        p.add_argument("--no-resume", action="store_true", help="start over even if checkpoints exist")
        p.set_defaults(func=func)

    p = sub.add_parser("export-qagen", help="turn a checkpoint into a complete QAGen folder")
    p.add_argument("--config", required=True, help="the recipe JSON the run used")
    add_checkpoint_choice(p)
    p.add_argument("--out", required=True)
    p.add_argument("--dtype", default="float32", choices=["float32", "float16", "bfloat16"])
    p.add_argument("--model-card", help="Markdown file to ship as README.md")
    p.set_defaults(func=_export_qagen)

    p = sub.add_parser("export-qa", help="turn a QA checkpoint into a folder QagsScorer loads")
    add_checkpoint_choice(p)
    p.add_argument("--out", required=True)
    p.add_argument("--model-card", help="Markdown file to ship as README.md")
    p.set_defaults(func=_export_qa)

    p = sub.add_parser("mle", help="CONSEQ stage 1: fine-tune an MLE summarizer (resumes from output_dir)")
    p.add_argument("--config", required=True, help="summarizer recipe JSON (see trainer_ext/configs/)")
    p.add_argument("--set", type=json_object, default=None, help=set_help('{"mle_training": {"seed": 1}, "data_file": "docs.jsonl"}'))
    p.add_argument("--output-dir", required=True)
    p.set_defaults(func=_mle)

    p = sub.add_parser("build-contrastive", help="CONSEQ stage 2: sample, score with QUALS, select S+/S- (resumable)")
    p.add_argument("--config", required=True)
    p.add_argument("--set", type=json_object, default=None, help=set_help('{"contrastive": {"metric": "rouge"}}'))
    p.add_argument("--summarizer", required=True, help="the MLE summarizer folder (output-dir/final)")
    p.add_argument("--work-dir", required=True, help="samples, scores and the dataset; re-run to resume")
    p.set_defaults(func=_build_contrastive)

    p = sub.add_parser("conseq", help="CONSEQ stage 3: fine-tune with likelihood on S+ and unlikelihood on S-")
    p.add_argument("--config", required=True)
    p.add_argument("--set", type=json_object, default=None, help=set_help('{"conseq_training": {"seed": 1}}'))
    p.add_argument("--summarizer", required=True, help="the MLE summarizer folder to start from")
    p.add_argument("--data", required=True, help="work-dir/dataset from build-contrastive")
    p.add_argument("--output-dir", required=True)
    p.set_defaults(func=_conseq)

    p = sub.add_parser("evaluate", help="summarize the recipe's eval_rows and report ROUGE, QUALS and QAGS (resumable)")
    p.add_argument("--config", required=True)
    p.add_argument("--set", type=json_object, default=None, help=set_help('{"evaluation": {"decoding": {"num_beams": 2}}}'))
    p.add_argument("--summarizer", required=True, help="a summarizer folder (e.g. output-dir/final of mle or conseq)")
    p.add_argument("--out", required=True, help="summaries, per-summary scores and report.json; re-run to resume")
    p.add_argument("--metrics", default="rouge,quals,qags", help="comma-separated subset of rouge,quals,qags")
    p.set_defaults(func=_evaluate)

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        args.func(args)
    except (ValueError, FileNotFoundError) as e:  # bad configs, data or paths: one clear line, as `quals` does
        from quals.building_blocks import user_error

        return user_error("quals-train", args.command, e)
    finally:
        from quals.building_blocks import close_processes

        close_processes()  # the process group of the command's own processes or of a Trainer
    return 0


if __name__ == "__main__":
    sys.exit(main())
