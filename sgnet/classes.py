"""A model's classes at inference and evaluation: which set it predicts, which set is wanted,
and merging class probabilities from one to the other (e.g. an NYU40 model shown in NYUv2-13).

Merging sums the softmax probabilities of the source classes that map to each wanted class,
then the argmax picks among the wanted classes: "furniture" wins when cabinet + bookshelf +
dresser together outweigh "wall", even when no single one does. Source classes without a
place in the wanted set (NYU40's otherprop in SUN RGB-D-37) do not vote.
"""

from __future__ import annotations

from pathlib import Path

import torch

from assets.classes import NO_PREDICTION, ClassSet, ClassSetError, default_class_set, get_class_set
from sgnet.errors import SGNetUserError

ClassSpec = str | Path | ClassSet


def wanted_classes(spec: ClassSpec | None, model_classes: ClassSet) -> ClassSet:
    """The set to output: `spec` (a name, a JSON file, a ClassSet) or the model's own; a set the
    model's output cannot be merged into is one clear error."""
    try:
        wanted = model_classes if spec is None else get_class_set(spec)
        wanted.lookup_from(model_classes)  # fails early when there is no way from the model's set
    except ClassSetError as e:
        raise SGNetUserError(str(e)) from None
    return wanted


def model_class_set(stored: ClassSet | None, num_classes: int, where: str = "the weights") -> ClassSet:
    """The class set a model predicts: the one its weights carry, else the default for its size."""
    if stored is None:
        return default_class_set(num_classes)
    if stored.num_classes != num_classes:
        raise SGNetUserError(
            f"{where} name {stored.num_classes} classes ({stored.title}) but the model predicts {num_classes}"
        )
    return stored


def merge_matrix(source: ClassSet, target: ClassSet) -> torch.Tensor | None:
    """float32 (C_source, C_target) 0/1 matrix summing source classes into target ones; None when
    the two sets are the same (nothing to merge)."""
    if source.names == target.names:
        return None
    table = torch.from_numpy(target.lookup_from(source)[: source.num_classes].astype("int64"))
    m = torch.zeros(source.num_classes, target.num_classes)
    keep = table != NO_PREDICTION
    m[torch.nonzero(keep)[:, 0], table[keep]] = 1.0
    return m


def merge_probabilities(logits: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """(N, C_source, H, W) logits -> (N, C_target, H, W) summed class probabilities.

    Example: an NYU40 model's logits and `merge_matrix(nyu40, nyu13)` give 13 channels that sum
    to at most 1 per pixel (less where unmapped classes held probability)."""
    probs = torch.softmax(logits.float(), dim=1)
    return torch.einsum("nchw,ck->nkhw", probs, matrix.to(probs.device))


def dataset_classes(dataset: object) -> ClassSet:
    """The class set a dataset's labels are in (`label_classes`, a set's name; NYU40 without one)."""
    parts = getattr(dataset, "parts", None)
    if parts:  # several folders read as one: they must agree
        sets = {dataset_classes(p).names: dataset_classes(p) for p in parts}
        if len(sets) > 1:
            named = sorted(c.source or c.key for c in sets.values())
            raise SGNetUserError(f"the data folders hold labels in different class sets ({', '.join(named)})")
        return next(iter(sets.values()))
    try:
        return get_class_set(getattr(dataset, "label_classes", None) or "nyu40")
    except ClassSetError as e:
        raise SGNetUserError(str(e)) from None


class MappedLabels:
    """A dataset whose labels are brought into `target` on the fly (NYU40-labelled frames trained
    or scored as NYUv2-13): same samples, labels through one 256-entry lookup."""

    def __init__(self, dataset: object, target: ClassSet, source: ClassSet | None = None) -> None:
        self.dataset, self.target = dataset, target
        self.source = source or dataset_classes(dataset)
        try:
            self.table = target.lookup_from(self.source)
        except ClassSetError as e:
            raise SGNetUserError(f"the data's labels are {self.source.key}: {e}") from None
        self.identity = self.source.names == target.names

    @property
    def label_classes(self) -> str:
        return self.target.key

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getattr__(self, name: str) -> object:  # root, layout, files ...: the wrapped dataset's
        return getattr(self.dataset, name)

    def read_label(self, i: int):
        label = self.dataset.read_label(i)  # type: ignore[attr-defined]
        return label if self.identity else self.table[label]

    def __getitem__(self, i: int):
        from dataclasses import replace

        sample = self.dataset[i]  # type: ignore[index]
        return sample if self.identity else replace(sample, label=self.table[sample.label])


def relabel(dataset: object, target: ClassSet, source: ClassSet | None = None) -> object:
    """`dataset` itself when its labels (in `source`, default: the dataset's own set) are already
    in `target`, else a `MappedLabels` view."""
    mapped = MappedLabels(dataset, target, source)
    return dataset if mapped.identity else mapped
