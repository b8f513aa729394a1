"""hiergroup's grouping primitive (Zhang & Maire 2020, sec. 3 "Grouping Primitive", sec. 4.1):
edge map -> watershed over-segmentation -> region hierarchy (UCM) -> finest regions (<= 40) and the
region distance d_T (the height at which two regions merge).

Edges. The paper: structured-forest edges (Dollar & Zitnick) trained on BSDS500, plus a spectral
edge signal (gPb's), combined and fed to OWT-UCM. OpenCV's contrib module runs structured edges
given the BSDS-trained model file (`model.yml.gz` of opencv_extra, not on any package registry):
`edges="structured"` with that file. Without it, `edges="gradient"`: DenseBench's classical
detector, the Lab colour gradient magnitude (Sobel) at Gaussian scales 1, 2 and 4 px, averaged over
scales and normalised to [0, 1]. The spectral signal is not computed in either case (named deviation).

Hierarchy (higra). Arbelaez et al.'s OWT-UCM merges regions of a watershed over-segmentation
greedily by the mean strength of their common boundary. Here: the watershed of the edge map on the
4-adjacency pixel graph gives the initial regions; their region adjacency graph carries the mean
edge strength and the length of each common boundary; higra's average-linkage binary partition
tree over it merges, at each step, the two adjacent regions whose common boundary has the lowest
mean strength: the same merging order. Differences from Arbelaez's OWT: no oriented re-weighting of
the watershed arcs (the edge map's strength is used as it is) and pixel-graph edges instead of the
Khalimsky contour grid.
"""
from __future__ import annotations

from dataclasses import dataclass

from pathlib import Path

import numpy as np

MAX_REGIONS = 40  # "a region tree T, which we constrain to have no more than 40 regions at its finest level"


def gradient_edges(rgb: np.ndarray) -> np.ndarray:
    """[H, W, 3] uint8 RGB -> [H, W] float32 edge strength in [0, 1] (the classical fallback detector)."""
    import cv2
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    acc = np.zeros(rgb.shape[:2], np.float32)
    for sigma in (1.0, 2.0, 4.0):
        smooth = cv2.GaussianBlur(lab, (0, 0), sigma)
        gx, gy = cv2.Sobel(smooth, cv2.CV_32F, 1, 0), cv2.Sobel(smooth, cv2.CV_32F, 0, 1)
        acc += np.sqrt(gx ** 2 + gy ** 2).max(axis=2) * sigma  # scale-normalised magnitude
    return acc / max(float(acc.max()), 1e-12)


# the forest options OpenCV's StructuredEdgeDetectionImpl reads (each a divisor or a size there: a
# model without them makes it divide by zero, SIGFPE) and the per-node arrays it reads
_MODEL_OPTIONS = ("numberOfTrees", "numberOfTreesToEvaluate", "stride", "shrinkNumber", "patchSize", "patchInnerSize",
                  "selfsimilarityGridSize", "numberOfGradientOrientations")
_MODEL_ARRAYS = ("childs", "featureIds", "thresholds", "edgeBoundaries", "edgeBins")


def check_edges_model(path: str) -> None:
    """Refuse (one line) a file that is not a structured-edge forest, before OpenCV is handed it."""
    import cv2
    from harness.errors import BenchError
    what = "expected the BSDS500 structured-edge model (opencv_extra's testdata/cv/ximgproc/model.yml.gz)"
    if not Path(path).is_file():
        raise BenchError(f"--edges-model {path}: no such file; {what}")
    try:
        fs = cv2.FileStorage(str(path), cv2.FILE_STORAGE_READ)
        opened = fs.isOpened()
    except Exception as e:  # cv2.error, or SystemError wrapping it
        raise BenchError(f"--edges-model {path}: not an OpenCV YAML/XML file ({str(e).strip().splitlines()[-1][:80]}); "
                         f"{what}") from e
    if not opened:
        raise BenchError(f"--edges-model {path}: cannot be opened as an OpenCV storage file; {what}")
    opts = fs.getNode("options")
    bad = [k for k in _MODEL_OPTIONS if opts.empty() or opts.getNode(k).empty() or opts.getNode(k).real() < 1]
    if bad:
        raise BenchError(f"--edges-model {path}: options.{bad[0]} is missing or below 1; {what}")
    empty = [k for k in _MODEL_ARRAYS if fs.getNode(k).empty() or fs.getNode(k).size() == 0]
    if empty:
        raise BenchError(f"--edges-model {path}: '{empty[0]}' is missing or empty; {what}")
    if fs.getNode("childs").size() != int(opts.getNode("numberOfTrees").real()):
        raise BenchError(f"--edges-model {path}: 'childs' holds {fs.getNode('childs').size()} trees, options say "
                         f"{int(opts.getNode('numberOfTrees').real())}; {what}")


def structured_edges(rgb: np.ndarray, model_file: str) -> np.ndarray:
    """Structured-forest edges with non-maximum suppression (OpenCV ximgproc, the BSDS500 model file)."""
    import cv2
    sed = cv2.ximgproc.createStructuredEdgeDetection(str(model_file))
    e = sed.detectEdges(rgb.astype(np.float32) / 255.0)
    return sed.edgesNms(e, sed.computeOrientation(e)).astype(np.float32)


@dataclass
class Grouping:
    """regions: [H, W] int32 finest-region ids 0..M-1 (M <= MAX_REGIONS); d_T: [M, M] float32 merge
    heights (0 on the diagonal); ucm: [H, W] float32 boundary strength of the hierarchy (for display)."""
    regions: np.ndarray
    d_T: np.ndarray
    ucm: np.ndarray


def group(edges: np.ndarray, max_regions: int = MAX_REGIONS) -> Grouping:
    """The region hierarchy of an edge map [H, W] and its finest level cut to at most max_regions."""
    import higra as hg
    h, w = edges.shape
    graph = hg.get_4_adjacency_graph((h, w))
    weights = hg.weight_graph(graph, edges.astype(np.float64), hg.WeightFunction.mean)
    ws = hg.labelisation_watershed(graph, weights)                              # [H, W], 1..K
    rag = hg.make_region_adjacency_graph_from_labelisation(graph, ws)
    strength = hg.rag_accumulate_on_edges(rag, hg.Accumulators.mean, weights)   # mean boundary strength
    length = hg.rag_accumulate_on_edges(rag, hg.Accumulators.sum, np.ones_like(weights))
    tree, altitudes = hg.binary_partition_tree_average_linkage(rag, strength, length)
    cut = hg.HorizontalCutExplorer(tree, altitudes).horizontal_cut_from_num_regions(max_regions)
    nodes = np.sort(np.asarray(cut.nodes()))
    node_of_pixel = np.asarray(cut.labelisation_leaves(tree)).reshape(h, w)     # the cut node over each pixel
    regions = np.searchsorted(nodes, node_of_pixel).astype(np.int32)            # 0..M-1
    lca = hg.make_lca_fast(tree)
    a, b = np.meshgrid(nodes, nodes, indexing="ij")
    d_T = np.asarray(altitudes)[np.asarray(lca.lca(a.ravel(), b.ravel()))].reshape(len(nodes), len(nodes))
    np.fill_diagonal(d_T, 0.0)
    saliency = hg.saliency(tree, altitudes, handle_rag=True)                     # per pixel-graph edge
    ucm = np.asarray(hg.accumulate_graph_edges(graph, saliency, hg.Accumulators.max)).reshape(h, w)
    return Grouping(regions, d_T.astype(np.float32), ucm.astype(np.float32))


GROUPING_VERSION = 1  # bump when group() or an edge detector changes its output


@dataclass(frozen=True)
class EdgeSettings:
    """Which edge detector feeds the hierarchy: 'structured' (needs model_file) or 'gradient'."""
    edges: str = "gradient"
    model_file: str | None = None
    max_regions: int = MAX_REGIONS

    def __post_init__(self) -> None:
        from harness.errors import BenchError
        if self.edges not in ("structured", "gradient"):
            raise BenchError(f"edges '{self.edges}': expected structured or gradient")
        if self.edges == "structured" and not self.model_file:
            raise BenchError("structured edges need the BSDS500 model file (--edges-model FILE: opencv_extra's "
                             "testdata/cv/ximgproc/model.yml.gz)")
        if self.edges == "structured":
            check_edges_model(self.model_file)

    def detect(self, rgb: np.ndarray) -> np.ndarray:
        if self.edges == "structured":
            return structured_edges(rgb, self.model_file)
        return gradient_edges(rgb)


class _GroupChunk:
    """Chunk worker for harness.artefacts.map_chunks: (regions, d_T) per image."""

    def __init__(self, files: list, settings: EdgeSettings) -> None:
        self.files, self.settings = files, settings

    def __call__(self, r: range) -> list[tuple[np.ndarray, np.ndarray]]:
        import cv2
        from PIL import Image
        cv2.setNumThreads(1)  # the processes are the parallelism
        out = []
        for i in r:
            with Image.open(self.files[i]) as im:
                g = group(self.settings.detect(np.asarray(im.convert("RGB"))), self.settings.max_regions)
            out.append((g.regions, g.d_T))
        return out


def group_images(files: list, settings: EdgeSettings, progress: bool = True,
                 workers: int | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """(regions, d_T) of every image, computed once per image content and settings (a cached,
    resumable artefact: harness.artefacts), in parallel over images with a progress bar."""
    from harness.artefacts import artefact_path, cpu_workers, files_sha256, map_chunks
    from harness.files import file_sha256
    key = {"images_sha256": files_sha256(files), "edges": settings.edges, "max_regions": settings.max_regions,
           "model_sha256": file_sha256(settings.model_file) if settings.model_file else None,
           "version": GROUPING_VERSION}
    return map_chunks(len(files), _GroupChunk(list(files), settings), artefact_path("hiergroup-ucm", key, "npz"),
                      chunk=16, workers=workers or cpu_workers(), desc="grouping (UCM)", progress=progress)


def ucm_figure(image: str, out: str, settings: EdgeSettings) -> dict:
    """PNG of the paper's Figure 1 (top): the image, its UCM and its finest regions, side by side."""
    from PIL import Image

    from harness.files import atomic_write
    from harness.data.seg import voc_palette
    from harness.errors import BenchError
    try:
        with Image.open(image) as im:
            rgb = np.asarray(im.convert("RGB"))
    except (OSError, ValueError) as e:
        raise BenchError(f"--image {image}: cannot read it as an image ({e})") from None
    g = group(settings.detect(rgb), settings.max_regions)
    ucm = Image.fromarray((255 * g.ucm / max(float(g.ucm.max()), 1e-12)).astype(np.uint8)).convert("RGB")
    regions = Image.fromarray((g.regions + 1).astype(np.uint8), "P")
    regions.putpalette(voc_palette())
    h, w = g.regions.shape
    canvas = Image.new("RGB", (3 * w + 8, h), "white")
    for k, part in enumerate((Image.fromarray(rgb), ucm, regions.convert("RGB"))):
        canvas.paste(part, (k * (w + 4), 0))
    atomic_write(out, lambda tmp: canvas.save(tmp, format="PNG"))
    return {"regions": int(g.regions.max()) + 1, "out": out}
