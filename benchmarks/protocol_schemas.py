"""The typed shape of each task family's protocol settings (what `paper`, and `paper` updated by
`mini`, must hold), read strictly by harness.protocol when the protocols are listed: an unknown,
misspelled or missing key is a one-line error naming the file and the key, at `bench ls` /
`bench protocol show` time, never mid-run. A task card names its schema (`_task.yaml: schema:
module:Class`); this module imports nothing heavy, so listing stays instant.

The framework subtrees (`detectron2:` config keys, mmseg `model:` and pipelines, optimizer and lr
scheduler dicts) are the frameworks' own vocabulary, passed through as dicts and checked by the
framework when the config is built (`bench protocol show --resolved`, and before any work of a run).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


# ------------------------------------------------------------------ Detectron2: coco_det, coco_det_c4, voc_det
@dataclass(frozen=True)
class DetectionDataset:
    layout: Literal["coco", "voc_det"]
    train: str
    test: str
    num_classes: int                             # checked against the data set's classes
    classes: str | tuple[str, ...] | None = None  # voc_det: 'voc' (the 20) or the protocol's own list
    synth: dict | None = None                    # mini: the synthetic set's parameters


@dataclass(frozen=True)
class Detectron2Protocol:
    base: str                                    # Detectron2 model-zoo config the overlay starts from
    dataset: DetectionDataset
    detectron2: dict                             # config keys over the base (Detectron2's own names)
    evaluator: Literal["coco", "voc"] = "coco"
    trials: int = 1                              # seeds 0..trials-1 when a run names none (voc_det: 5)


# ------------------------------------------------------------------ mmsegmentation: voc_seg, cityscapes_seg, ade_seg, voc_aspp_frozen
@dataclass(frozen=True)
class SegmentationDataset:
    layout: Literal["voc", "cityscapes", "ade20k"]
    train: str
    test: str
    reduce_zero_label: bool = False
    synth: dict | None = None


@dataclass(frozen=True)
class DataPreprocessor:
    mean: tuple[float, ...]
    std: tuple[float, ...]
    stats_scale: int                             # 255: mean/std on the pixels' 0-255 scale; 1: 0-1 statistics
    bgr_to_rgb: bool                             # required: mmseg's default (false) is not the usual setting
    pad_val: int = 0
    seg_pad_val: int = 255


@dataclass(frozen=True)
class SegmentationSchedule:
    iters: int
    batch_size: int                              # the global batch (divided among processes)
    optimizer: dict                              # mmengine optimizer config
    lr: tuple[dict, ...]                         # mmengine param schedulers
    workers: int = 2
    log_interval: int = 50


@dataclass(frozen=True)
class MMSegProtocol:
    dataset: SegmentationDataset
    data_preprocessor: DataPreprocessor
    crop: tuple[int, ...]
    train_pipeline: tuple[dict, ...]
    test_pipeline: tuple[dict, ...]
    model: dict                                  # mmseg model config
    schedule: SegmentationSchedule
    frozen: bool = False                         # the backbone is not trained (and checked unchanged)


# ------------------------------------------------------------------ features read by the label-free probes
@dataclass(frozen=True)
class Features:
    stage: Literal["layer1", "layer2", "layer3", "layer4"]
    output_stride: int
    embedding: Literal["never", "if_exported"] = "never"   # a checkpoint's exported pixel embedding first


# ------------------------------------------------------------------ davis_vos
@dataclass(frozen=True)
class DavisDataset:
    layout: Literal["davis"]
    split: str
    synth: dict | None = None


@dataclass(frozen=True)
class Propagation:
    first_frame: bool
    n_context: int
    topk: int
    temperature: float
    radius: int
    coord_weight: float = 0.0


@dataclass(frozen=True)
class DavisProtocol:
    dataset: DavisDataset
    features: Features
    propagation: Propagation


# ------------------------------------------------------------------ voc_retrieval
@dataclass(frozen=True)
class RetrievalDataset:
    layout: Literal["voc"]
    database: str
    query: str
    synth: dict | None = None


@dataclass(frozen=True)
class RetrievalProtocol:
    dataset: RetrievalDataset
    features: Features
    k: int




# ------------------------------------------------------------------ voc07_svm
@dataclass(frozen=True)
class ClassificationDataset:
    layout: Literal["voc_det"]
    train: str
    test: str
    classes: str | tuple[str, ...] = "voc"       # 'voc' (the 20, alphabetical as the devkit's lists sort) or a list
    synth: dict | None = None


@dataclass(frozen=True)
class PooledFeatures:
    stage: Literal["layer1", "layer2", "layer3", "layer4"]
    resize: int                                  # shorter side first (torchvision Resize(int), bilinear)
    size: tuple[int, int]                        # then to exactly (height, width)
    pool: tuple[int, int, int]                   # AvgPool2d (kernel, stride, padding) on the stage's map, flattened
    batch_size: int = 32


@dataclass(frozen=True)
class LinearSvm:
    positive_weight: float
    intercept_scaling: float
    penalty: Literal["l1", "l2"]
    loss: Literal["hinge", "squared_hinge"]
    tol: float
    dual: bool
    max_iter: int


@dataclass(frozen=True)
class LowShot:
    shots: tuple[int, ...]                       # images per class; one metric lowshot_<k> each
    samples: int                                 # independent draws per shot count


@dataclass(frozen=True)
class SvmProtocol:
    dataset: ClassificationDataset
    features: PooledFeatures
    svm: LinearSvm
    costs: tuple[float, ...]                     # tried as given, then 0.5**n for n in halvings (inclusive)
    halvings: tuple[int, int]
    folds: int                                   # cross-validation folds choosing the full SVM's cost
    low_shot: LowShot | None = None


# ------------------------------------------------------------------ cocostuff_unsup
@dataclass(frozen=True)
class UnsupSegDataset:
    layout: Literal["cocostuff"]
    fit: str                                     # the split the clusters are fitted on (PiCIE: train)
    test: str                                    # the split they are scored on (PiCIE: val)
    synth: dict | None = None


@dataclass(frozen=True)
class MiniBatchKmeans:
    k: int                                       # clusters (= classes: the Hungarian match is one to one)
    batch: int                                   # images per batch
    init_batches: int                            # batches clustered by faiss for the initial centroids
    update_batches: int                          # batches per mini-batch update after that
    niter: int                                   # faiss k-means iterations of the initial clustering


@dataclass(frozen=True)
class UnsupSegProtocol:
    dataset: UnsupSegDataset
    res: int                                     # shorter side resized to res, then a res x res centre crop
    features: Features
    kmeans: MiniBatchKmeans
    classes: tuple[str, ...]                     # the evaluated classes, in index order
    fine_to_coarse: tuple[int, ...]              # label id on disk -> class index (-1: ignored)
    only: tuple[str, ...] | None = None          # the classes a data set holds (mini's synthetic eight); the rest ignored


# ------------------------------------------------------------------ linear_cls
@dataclass(frozen=True)
class LabelledDataset:
    layout: Literal["imagenet"]
    train: str
    test: str
    synth: dict | None = None


@dataclass(frozen=True)
class LinearHead:
    stage: Literal["layer1", "layer2", "layer3", "layer4"]   # the frozen map the head reads
    init_std: float                              # Linear weights ~ N(0, init_std), bias 0


@dataclass(frozen=True)
class ClsSchedule:
    epochs: int
    batch_size: int
    lr: float
    momentum: float
    weight_decay: float
    nesterov: bool
    steps: tuple[int, ...]                       # epochs at which the lr is multiplied by gamma
    gamma: float
    workers: int = 2


@dataclass(frozen=True)
class ClsPipeline:
    train_crop: int                              # RandomResizedCrop(train_crop), then a horizontal flip
    test_resize: int                             # Resize(test_resize) of the shorter side
    test_crop: int                               # then CenterCrop(test_crop)


@dataclass(frozen=True)
class LinearClsProtocol:
    dataset: LabelledDataset
    head: LinearHead
    schedule: ClsSchedule
    pipeline: ClsPipeline
    validate_every: int                          # epochs between evaluations of the test split
    report: Literal["best", "last"]              # top1: the best evaluation's or the last one's


# ------------------------------------------------------------------ semi_cls
@dataclass(frozen=True)
class LabelSubset:
    fraction: float                              # of each class's train images, when the list is absent
    list: str | None = None                      # the published subset list, relative to the layout root


@dataclass(frozen=True)
class LrGrid:
    lr: tuple[float, ...]                        # base learning rates tried
    head_lr_mult: tuple[float, ...]              # the head's lr multipliers tried (paramwise lr_mult)


@dataclass(frozen=True)
class FinetuneSchedule:
    epochs: int
    batch_size: int
    momentum: float
    weight_decay: float
    steps: tuple[int, ...]                       # epochs at which every lr is multiplied by gamma
    gamma: float
    workers: int = 2


@dataclass(frozen=True)
class SemiClsProtocol:
    dataset: LabelledDataset
    labels: LabelSubset
    head: LinearHead
    schedule: FinetuneSchedule
    grid: LrGrid                                 # every (lr, head_lr_mult) is fine-tuned; the best top-1 is reported
    pipeline: ClsPipeline
