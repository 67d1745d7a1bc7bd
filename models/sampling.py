"""Training-row sampling: every event, a fixed share of the rows without one.

At national scale the training matrix (cohort x index dates) is the largest
thing training fits on. A spec's ``non_event_share`` (off by default) keeps
every training row whose label is an event and a fixed share of the rows
without one, chosen by the salted citizen hash that already assigns the splits
(:func:`models.matrix.citizen_draws`, with its own salt), so the same citizens
are kept at every index date and in every run. The kept non-events count
``1 / share`` times in the fit, so the weighted rows keep the population's
event rate. Only the training split is sampled: the calibration and test
splits are untouched, so validation and calibration see every row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from models.matrix import citizen_draws

__all__ = ["non_event_sample"]


def non_event_sample(
    frame: pd.DataFrame, labels: NDArray[np.int_], *, share: float, random_state: int
) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
    """Choose the training rows to fit on and their weights.

    Parameters
    ----------
    frame : pandas.DataFrame
        The training rows, with ``citizen_id``.
    labels : ndarray
        Their labels (1 = event).
    share : float
        Share of the rows without an event to keep, in (0, 1].
    random_state : int
        Salt of the citizen hash (the spec's).

    Returns
    -------
    (ndarray of bool, ndarray of float)
        Which rows are kept, and the weight of each kept row: 1 for an event,
        ``1 / share`` for a non-event.
    """
    draws = citizen_draws(frame["citizen_id"], salt=f"opspor-sample-{random_state}:")
    event = np.asarray(labels) == 1
    keep = event | (draws < share)
    weights = np.where(event[keep], 1.0, 1.0 / share)
    return keep, weights
