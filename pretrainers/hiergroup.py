"""Hierarchical grouping (Zhang & Maire, NeurIPS 2020, "Self-Supervised Visual Representation
Learning from Hierarchical Grouping"): pixel contrast whose positives and negatives come from a
contour-derived region hierarchy (pretrainers/hiergroup_sampling.py).

A network phi maps an image I to per-pixel embeddings F = phi(I) (d = 32). With
sim(F(i), F(j)) = F(i)^T F(j) / (|F(i)| |F(j)|), the objective is equation (1):

    phi* = argmax_phi  sum_i sum_{m in Pos(i)}  exp(sim(F(i), F(m)))
                                                / (exp(sim(F(i), F(m))) + sum_{n in Neg(i)} exp(sim(F(i), F(n))))

with Pos(i) = Pos+(i) (sampled positives and their counterparts in the augmented view) and
Neg(i) = Neg+(i) (sampled negatives, their augmented counterparts, cross-image negatives).
As printed, the summand is the probability itself (no log, no temperature); DenseBench minimises its
negative mean over the (anchor, positive) pairs: the mean instead of the sum only rescales the
gradient, which Adam's update does not see.

Network (sec. 4.2): a ResNet from random init whose res3 and res4 outputs each pass one 3x3
Conv-BN-ReLU to 256 channels, are interpolated to 1/4 of the input resolution and concatenated,
then one 3x3 convolution gives the 32-channel embedding.
No official code exists: this module is the reference implementation.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from harness.backbone import forward_to


# ----------------------------------------------------------------------------- the paper's function
def hiergroup_loss(f_anchor: torch.Tensor, f_pos: torch.Tensor, f_neg: torch.Tensor) -> torch.Tensor:
    """Negative mean of equation (1)'s summands.
    f_anchor: [A, D] anchor embeddings F(i); f_pos: [A, P, D] F(m), m in Pos+(i); f_neg: [A, N, D]
    F(n), n in Neg+(i). Similarities are cosine (any scale of F is divided out)."""
    a = F.normalize(f_anchor, dim=-1)[:, None, :]                       # [A, 1, D]
    s_pos = (a * F.normalize(f_pos, dim=-1)).sum(-1)                     # [A, P]
    s_neg = (a * F.normalize(f_neg, dim=-1)).sum(-1)                     # [A, N]
    neg = torch.exp(s_neg).sum(dim=1, keepdim=True)                      # [A, 1]
    ratio = torch.exp(s_pos) / (torch.exp(s_pos) + neg)                  # [A, P], each in (0, 1)
    return -ratio.mean()


# ----------------------------------------------------------------------------- the model
def conv_bn_relu(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class Hypercolumn(nn.Module):
    """ResNet res3 + res4 -> 3x3 Conv-BN-ReLU 256 each -> resized to H/4 x W/4 -> concat -> 3x3 conv -> dim.
    forward: [N, 3, H, W] -> [N, dim, H/4, W/4]."""

    def __init__(self, backbone: nn.Module, c3: int, c4: int, width: int = 256, dim: int = 32) -> None:
        super().__init__()
        self.backbone = backbone
        self.proj3, self.proj4 = conv_bn_relu(c3, width), conv_bn_relu(c4, width)
        self.embed = nn.Conv2d(2 * width, dim, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = (x.shape[-2] // 4, x.shape[-1] // 4)
        c3 = forward_to(self.backbone, x, "layer2")                      # res3: stride 8
        c4 = self.backbone.layer3(c3)                                    # res4: stride 16
        up = [F.interpolate(p(c), size=size, mode="bilinear", align_corners=False)
              for p, c in ((self.proj3, c3), (self.proj4, c4))]
        return self.embed(torch.cat(up, dim=1))

