"""What a teacher does with each instruction: V-measure of its embeddings against every labelling.

"The teacher follows this instruction" is a claim to measure, not to assume: on the demo corpus almost
any instruction pushes EmbeddingGemma toward location clusters. Each instruction's row is therefore
read against a control row, a task-neutral instruction (and the base, no instruction at all): an
instruction moves the clustering toward a labelling only by what it adds over the control.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from instructlin.core.metrics import kmeans_v_scores

#: A move over the control smaller than this is read as no move (the sd of V over k-means seeds is ~0.05-0.1).
MIN_MOVE = 0.05


@dataclass(frozen=True)
class InstructionMatrix:
    """Rows: "no instruction", then each instruction (the control among them); columns: labellings; V means."""

    rows: tuple[str, ...]
    labellings: tuple[str, ...]
    values: np.ndarray  # (rows, labellings), k-means V-measure mean over seeds
    control: str | None  # the row of the task-neutral instruction, when there is one
    n_texts: int
    n_seeds: int

    def value(self, row: str, labelling: str) -> float:
        return float(self.values[self.rows.index(row), self.labellings.index(labelling)])

    def move(self, instruction: str, labelling: str) -> float:
        """V against ``labelling`` with ``instruction`` minus with the control (no instruction if none)."""
        reference = self.control if self.control is not None else self.rows[0]
        return self.value(instruction, labelling) - self.value(reference, labelling)

    def toward(self, instruction: str) -> str | None:
        """The labelling the instruction moves the clustering toward most over the control, if by ``MIN_MOVE``."""
        moves = {labelling: self.move(instruction, labelling) for labelling in self.labellings}
        best = max(moves, key=moves.get)
        return best if moves[best] >= MIN_MOVE else None


def instruction_matrix(base: np.ndarray, instructed: Mapping[str, np.ndarray], labels: Mapping[str, Sequence],
                       *, control: str | None = None, n_seeds: int = 5) -> InstructionMatrix:
    """V-measure (k-means, mean over ``n_seeds``) of the base and of each instruction's embeddings of the
    same texts against each labelling; ``control`` names the task-neutral instruction among ``instructed``."""
    if control is not None and control not in instructed:
        raise ValueError(f"The control instruction {control!r} is not among the instructions given.")
    rows = ("no instruction", *instructed)
    spaces = (base, *instructed.values())
    labellings = tuple(labels)
    values = np.array([[score.mean for score in kmeans_v_scores(space, [labels[name] for name in labellings],
                                                                 n_seeds=n_seeds)] for space in spaces])
    return InstructionMatrix(rows, labellings, values, control, len(base), n_seeds)

