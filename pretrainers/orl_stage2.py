"""ORL stage 2, correspondence discovery (Xie et al. 2021, sec. 3.2): which RoIs of which images
show the same kind of object, found with the stage-1 (BYOL) network.

1. image-level kNN: every image resized (shorter side `knn_resize`) and centre-cropped (`knn_crop`),
   embedded by the stage-1 online backbone + projector, L2-normalised; its top-`knn` cosine
   neighbours other than itself (faiss, exact inner product);
2. proposals: OpenCV selective search (fast) per image, filtered by orl_boxes.box_filter;
3. RoI embeddings: each kept box cropped and resized to `roi_size`, global-average-pooled C5 of
   the stage-1 online backbone, L2-normalised;
4. pairs: for each of the `knn` neighbours, the top int(pair_ratio x query boxes) entries of the
   flattened RoI cosine matrix (orl_boxes.top_pairs).

Facts from Jiahao000/ORL `tools/coco_knn_image_retrieval.ipynb`, `configs/selfsup/orl/coco/stage2`,
`datasets/correspondence.py`, `models/correspondence.py`. Steps 1-3 are content-keyed, resumable
artefacts (harness.artefacts); the result is one versioned JSON file (CORR_FORMAT).
Named differences: the official notebook drops the first retrieved neighbour as "itself"; here the
image's own index is removed (the same unless two images are identical). A checkpoint without a
projector (e.g. `random`, imported weights) retrieves neighbours by the backbone's pooled C5
instead; the file's info says which.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torchvision.transforms import functional as TF

from harness.artefacts import artefact_path, cpu_workers, files_sha256, map_chunks
from harness.backbone import build_resnet, forward_to, normalize
from harness.files import atomic_write_text
from pretrainers.orl_boxes import box_filter, selective_search, top_pairs

CORR_FORMAT = ("densebench-orl-correspondence", 1)
STEP_VERSION = 1  # bump when a step's output for the same inputs changes


@dataclass(frozen=True)
class Stage2Settings:
    """Stage-2 settings, from the recipe (paper: the official values; `mini` scales the pixel sizes)."""
    knn: int               # neighbour images per image
    knn_resize: int       # px, shorter side before the centre crop
    knn_crop: int         # px
    min_box: float         # px, proposals with w or h below are dropped
    max_ratio: float      # max aspect ratio (either way)
    max_iou: float        # greedy drop against kept boxes
    top_n: int            # boxes kept per image
    roi_size: int         # px, RoI crops resized to this before the backbone
    pair_ratio: float     # RoI pairs per neighbour = int(ratio x query boxes)


class Stage1Net:
    """The stage-1 network read from a canonical checkpoint (+ its heads file's projector, if any)."""

    def __init__(self, checkpoint: str | Path) -> None:
        from harness.checkpoint import heads_path, load_heads, open_checkpoint
        ck = open_checkpoint(checkpoint)
        self.arch, self.norm, self.weights_sha = ck.arch, ck.normalization, ck.meta["weights_sha256"]
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")  # paper: 11M RoIs
        self.backbone = build_resnet(ck.arch, ck.state).eval().to(self.device)
        self.projector = None
        if heads_path(checkpoint).exists():
            heads, _ = load_heads(checkpoint)
            proj = {k.removeprefix("projector."): v for k, v in heads.items() if k.startswith("projector.")}
            if proj:
                from pretrainers.byol import mlp
                hidden, c5 = proj["0.weight"].shape
                self.projector = mlp(c5, hidden, proj["3.weight"].shape[0])
                self.projector.load_state_dict(proj)
                self.projector.eval().to(self.device)

    def identity(self) -> dict[str, Any]:
        return {"weights_sha256": self.weights_sha, "projector": self.projector is not None}

    @torch.no_grad()
    def pooled_c5(self, x: torch.Tensor) -> torch.Tensor:
        """[N, 3, S, S] images in 0-1 -> [N, C5] L2-normalised global-average-pooled C5 (on the CPU)."""
        c5 = forward_to(self.backbone, normalize(x.to(self.device), self.norm), "layer4")
        return F.normalize(c5.mean(dim=(2, 3)), dim=1).cpu()

    @torch.no_grad()
    def global_embedding(self, x: torch.Tensor) -> torch.Tensor:
        """[N, 3, S, S] -> [N, D] L2-normalised projector output (pooled C5 without a projector)."""
        if self.projector is None:
            return self.pooled_c5(x)
        c5 = forward_to(self.backbone, normalize(x.to(self.device), self.norm), "layer4")
        return F.normalize(self.projector(c5.mean(dim=(2, 3))), dim=1).cpu()


def _rgb(path: Path) -> Image.Image:
    with Image.open(path) as im:
        return im.convert("RGB")


class _Proposals:
    """Chunk worker: selective-search boxes of images (PIL RGB -> BGR as the official code). An image
    without any proposal (a flat image) gets the whole image as its one box."""

    def __init__(self, files: list[Path]) -> None:
        self.files = files

    def __call__(self, r: range) -> list[np.ndarray]:
        import cv2
        cv2.setNumThreads(1)  # one image per process; the processes are the parallelism
        out = []
        for i in r:
            rgb = np.asarray(_rgb(self.files[i]))
            boxes = selective_search(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
            out.append(boxes if len(boxes) else np.array([[0, 0, rgb.shape[1], rgb.shape[0]]], dtype=np.int64))
        return out


class _GlobalEmbed:
    def __init__(self, net: Stage1Net, files: list[Path], resize: int, crop: int) -> None:
        self.net, self.files, self.resize, self.crop = net, files, resize, crop

    def __call__(self, r: range) -> list[np.ndarray]:
        x = torch.stack([TF.to_tensor(TF.center_crop(TF.resize(_rgb(self.files[i]), self.resize), self.crop))
                         for i in r])
        return list(self.net.global_embedding(x).numpy())


class _RoIEmbed:
    def __init__(self, net: Stage1Net, files: list[Path], boxes: list[np.ndarray], size: int) -> None:
        self.net, self.files, self.boxes, self.size = net, files, boxes, size

    def __call__(self, r: range) -> list[np.ndarray]:
        out = []
        for i in r:
            im = _rgb(self.files[i])
            crops = [TF.to_tensor(TF.resized_crop(im, int(y), int(x), int(h), int(w), [self.size, self.size]))
                     for x, y, w, h in self.boxes[i]]
            out.append(self.net.pooled_c5(torch.stack(crops)).numpy())
        return out


def knn_indices(feats: np.ndarray, k: int) -> np.ndarray:
    """[N, D] L2-normalised -> [N, k] indices of the k most cosine-similar other rows (best first)."""
    import faiss
    n = feats.shape[0]
    if n <= k:
        raise ValueError(f"{n} images cannot have {k} neighbours each")
    index = faiss.IndexFlatIP(feats.shape[1])
    index.add(np.ascontiguousarray(feats, dtype=np.float32))
    _, idx = index.search(np.ascontiguousarray(feats, dtype=np.float32), k + 1)
    out = np.empty((n, k), dtype=np.int64)
    for i in range(n):
        row = [j for j in idx[i] if j != i][:k]
        out[i] = row
    return out


def discover(checkpoint: str | Path, files: list[Path], s: Stage2Settings, progress: bool = True,
             workers: int | None = None) -> Path:
    """Run (or find) stage 2 for the stage-1 `checkpoint` over image `files`; the correspondence JSON path."""
    net = Stage1Net(checkpoint)
    base = {"images_sha256": files_sha256(files), "step_version": STEP_VERSION}
    out = artefact_path("orl-correspondence", {**base, "net": net.identity(), "settings": asdict(s)}, "json")
    if out.exists():
        return out
    torch.set_grad_enabled(False)
    try:
        prop_key = {**base, "step": "selective-search-fast"}
        raw = map_chunks(len(files), _Proposals(files), artefact_path("orl-proposals", prop_key, "npz"), chunk=16,
                         workers=workers or cpu_workers(), desc="stage 2: proposals", progress=progress)
        boxes = [box_filter(b, s.min_box, s.max_ratio, s.max_iou, s.top_n) for b in raw]
        g_key = {**base, "net": net.identity(), "step": "global", "resize": s.knn_resize, "crop": s.knn_crop}
        feats = map_chunks(len(files), _GlobalEmbed(net, files, s.knn_resize, s.knn_crop),
                           artefact_path("orl-global", g_key, "npz"), chunk=64, desc="stage 2: image kNN",
                           progress=progress)
        knn = knn_indices(np.stack(feats), s.knn)
        r_key = {**base, "net": net.identity(), "step": "roi", "proposals": prop_key, "size": s.roi_size,
                 "filter": [s.min_box, s.max_ratio, s.max_iou, s.top_n]}
        rois = map_chunks(len(files), _RoIEmbed(net, files, boxes, s.roi_size), artefact_path("orl-roi", r_key, "npz"),
                          chunk=16, desc="stage 2: RoI embeddings", progress=progress)
    finally:
        torch.set_grad_enabled(True)
    found = [[_pairs(boxes[i], boxes[j], rois[i], rois[j], s.pair_ratio) for j in knn[i]] for i in range(len(files))]
    pairs = [[p for p, _ in per] for per in found]
    n_pairs = sum(len(p) for per in pairs for p in per)
    doc = {"format": CORR_FORMAT[0], "version": CORR_FORMAT[1],
           "info": {**asdict(s), "stage1": net.identity(), "images_sha256": base["images_sha256"],
                    "knn_features": "projector" if net.projector is not None else "pooled C5 (no projector)",
                    "counts": {"images": len(files), "boxes": int(sum(len(b) for b in boxes)), "pairs": n_pairs}},
           "images": [f.name for f in files], "knn": knn.tolist(),
           "boxes": [b.astype(int).tolist() for b in boxes], "pairs": pairs,
           "pair_scores": [[sc for _, sc in per] for per in found]}
    atomic_write_text(out, json.dumps(doc, separators=(",", ":")))
    return out


def _pairs(qboxes: np.ndarray, kboxes: np.ndarray, qemb: np.ndarray, kemb: np.ndarray,
           ratio: float) -> tuple[list[list[int]], list[float]]:
    """The top RoI pairs between a query and one neighbour, [[qx, qy, qw, qh, kx, ky, kw, kh], ...],
    and their cosine similarities (4 decimals; for inspection, not read by stage 3)."""
    sim = qemb @ kemb.T
    qi, ki = top_pairs(sim, ratio)
    return ([[*map(int, qboxes[a]), *map(int, kboxes[b])] for a, b in zip(qi, ki)],
            [round(float(sim[a, b]), 4) for a, b in zip(qi, ki)])


def load_correspondence(path: str | Path) -> dict[str, Any]:
    """Read a correspondence file, refusing another format or version."""
    from harness.errors import BenchError
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise BenchError(f"{path}: cannot read ORL correspondence ({e})") from None
    if not isinstance(doc, dict) or (doc.get("format"), doc.get("version")) != CORR_FORMAT:
        raise BenchError(f"{path}: not a {CORR_FORMAT[0]} file of version {CORR_FORMAT[1]}")
    return doc
