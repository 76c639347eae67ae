"""Training extensions of QUALS: the QAGen recipe and CONSEQ (contrastive fine-tuning with QUALS). Names
import on first use, so that ``quals-train --help`` comes at once."""

from quals.building_blocks import lazy_exports

_EXPORTS = {
    "ConSeqCollator": "collators", "QAGenCollator": "collators", "conseq_loss": "losses",
    "ConSeqConfig": "conseq_trainer", "ConSeqTrainer": "conseq_trainer",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

__all__ = list(_EXPORTS)
