"""Training extensions of QUALS: the QAGen recipe and CONSEQ (contrastive fine-tuning with QUALS)."""

from .collators import ConSeqCollator, QAGenCollator
from .conseq_loss import conseq_loss
from .conseq_trainer import ConSeqConfig, ConSeqTrainer

__all__ = ["ConSeqCollator", "ConSeqConfig", "ConSeqTrainer", "QAGenCollator", "conseq_loss"]
