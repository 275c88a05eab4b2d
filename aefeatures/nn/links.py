"""Links: how a linear reconstruction of a 0/1 input becomes the logit its loss reads.

A linear model (``pca``, ``pca_start``'s linear path, ``gaussian_start``'s conditional means)
reconstructs a boolean or a one-hot level as a number near its probability; the loss reads
logits, so that number is clipped to a probability and taken as a logit (boolean) or a log
probability (a level, normalised by the softmax over its block).

Examples
--------
>>> linear_to_logits(torch.tensor([0.5, 0.5, 0.5]), torch.tensor([LINK_IDENTITY, LINK_LOGIT, LINK_LOG]))
tensor([ 0.5000,  0.0000, -0.6931])
"""

from __future__ import annotations

import torch

from aefeatures.nn.losses import ReconstructionLoss

LINK_IDENTITY, LINK_LOGIT, LINK_LOG = 0, 1, 2
PROBABILITY_FLOOR = 0.01  # reconstructed probabilities are clipped to [0.01, 0.99]


def linear_to_logits(values: torch.Tensor, link: torch.Tensor) -> torch.Tensor:
    """Read linear reconstructions of 0/1 inputs as clipped probabilities, in logit form."""
    p = values.clamp(PROBABILITY_FLOOR, 1.0 - PROBABILITY_FLOOR)
    log_p = torch.log(p)
    logits = torch.where(link == LINK_LOGIT, log_p - torch.log1p(-p), log_p)
    return torch.where(link == LINK_IDENTITY, values, logits)


def output_links(loss_fn: ReconstructionLoss, like: torch.Tensor) -> torch.Tensor:
    """How each input position's linear reconstruction becomes the loss's input (see ``LINK_*``)."""
    link = torch.zeros_like(like)
    link[loss_fn.bce_pos] = LINK_LOGIT
    link[loss_fn.ce_index[loss_fn.ce_valid]] = LINK_LOG
    return link
