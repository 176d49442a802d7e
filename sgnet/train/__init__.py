"""Training: augmentation that keeps xyz consistent, poly LR, one loop for python and torchrun."""

from sgnet.train.loop import TrainConfig, TrainSummary, train

__all__ = ["TrainConfig", "TrainSummary", "train"]
