"""Every `paper` value that matters, against the official file it comes from (value, repository,
file, line), checked on the resolved framework config (what `bench protocol show --resolved` prints)
and on the recipes. A change to a paper value fails here unless this table (and the README's named
deviations, where it departs from the official code) changes with it.

Repositories at the commits read (2026-11-30): zdaxie/PixPro e390d6b, CVMI-Lab/SlotCon (HEAD of the
stored snapshot), WXinlong/DenseCL, WXinlong/mmsegmentation 32b0aff (DenseCL's fork), Jiahao000/ORL.
"""
import functools

import pytest
import yaml

from harness.registry import METHODS, TASKS
from harness.schema import to_data

PIXPRO_D2 = "zdaxie/PixPro transfer/detection/configs/"
SLOTCON_SEG = "CVMI-Lab/SlotCon transfer/segmentation/configs/"
DENSECL_SEG = "WXinlong/mmsegmentation configs/"
FPN = "protocol:coco_det/r50_fpn_4conv1fc_syncbn_1x"
VOC = "protocol:voc_seg/fcn_d6_os16_513_30k"
CITY = "protocol:cityscapes_seg/fcn_d6_os16_769_90k"
CITY_DENSECL = "protocol:cityscapes_seg/fcn_r50_d8_769_40k"
VOC_DENSECL = "protocol:voc_seg/fcn_r50_d8_512_20k"
C4 = "protocol:coco_det_c4/r50_c4_syncbn_1x"
VOCDET = "protocol:voc_det/r50_c4_24k"
SVM = "protocol:voc07_svm/svm_res5_lowshot"
ORL = "Jiahao000/ORL "
PICIE = "protocol:cocostuff_unsup/picie_kmeans27"
LIN = "protocol:linear_cls/imagenet_last"
SEMI1, SEMI10 = "protocol:semi_cls/imagenet_1pct", "protocol:semi_cls/imagenet_10pct"
SEMI_CFG = ORL + "configs/benchmarks/semi_classification/imagenet_{}percent/"
LIN_CFG = ORL + "configs/benchmarks/linear_classification/imagenet/r50_last.py:"
PICIE_REPO = "janghyuncho/PiCIE c3aa029 "

# (target, key path in the resolved config or recipe, official value, source "repository file:line")
ROWS = [
    (C4, "MODEL.PIXEL_MEAN", [123.675, 116.28, 103.53], PIXPRO_D2 + "COCO_R_50_C4_1x_PixPro.yaml:4"),
    (C4, "MODEL.PIXEL_STD", [58.395, 57.12, 57.375], PIXPRO_D2 + "COCO_R_50_C4_1x_PixPro.yaml:5"),
    (C4, "MODEL.RESNETS.STRIDE_IN_1X1", False, PIXPRO_D2 + "COCO_R_50_C4_1x_PixPro.yaml:7"),
    (C4, "INPUT.FORMAT", 'RGB', PIXPRO_D2 + "COCO_R_50_C4_1x_PixPro.yaml:9"),
    (C4, "MODEL.RPN.PRE_NMS_TOPK_TEST", 6000, PIXPRO_D2 + "Base-RCNN-C4-BN.yaml:4"),
    (C4, "MODEL.RPN.POST_NMS_TOPK_TEST", 1000, PIXPRO_D2 + "Base-RCNN-C4-BN.yaml:5"),
    (C4, "MODEL.ROI_HEADS.NAME", 'Res5ROIHeadsExtraNorm', PIXPRO_D2 + "Base-RCNN-C4-BN.yaml:7"),
    (C4, "MODEL.BACKBONE.FREEZE_AT", 0, PIXPRO_D2 + "Base-RCNN-C4-BN.yaml:9"),
    (C4, "MODEL.RESNETS.NORM", 'SyncBN', PIXPRO_D2 + "Base-RCNN-C4-BN.yaml:11"),
    (C4, "TEST.PRECISE_BN.ENABLED", True, PIXPRO_D2 + "Base-RCNN-C4-BN.yaml:14"),
    (C4, "SOLVER.IMS_PER_BATCH", 16, PIXPRO_D2 + "Base-RCNN-C4-BN.yaml:16"),
    (C4, "SOLVER.BASE_LR", 0.02, PIXPRO_D2 + "Base-RCNN-C4-BN.yaml:17"),
    (C4, "MODEL.RESNETS.DEPTH", 50, PIXPRO_D2 + "Base-RCNN-C4-BN.yaml sets no depth: Detectron2 defaults.py MODEL.RESNETS.DEPTH 50"),
    (VOCDET, "MODEL.PIXEL_MEAN", [123.675, 116.28, 103.53], PIXPRO_D2 + "Pascal_VOC_R_50_C4_24k_PixPro.yaml:4"),
    (VOCDET, "MODEL.PIXEL_STD", [58.395, 57.12, 57.375], PIXPRO_D2 + "Pascal_VOC_R_50_C4_24k_PixPro.yaml:5"),
    (VOCDET, "MODEL.RESNETS.STRIDE_IN_1X1", False, PIXPRO_D2 + "Pascal_VOC_R_50_C4_24k_PixPro.yaml:7"),
    (VOCDET, "INPUT.FORMAT", 'RGB', PIXPRO_D2 + "Pascal_VOC_R_50_C4_24k_PixPro.yaml:9"),
    (VOCDET, "MODEL.RPN.PRE_NMS_TOPK_TEST", 6000, PIXPRO_D2 + "Base-RCNN-C4-BN.yaml:4"),
    (VOCDET, "MODEL.RPN.POST_NMS_TOPK_TEST", 1000, PIXPRO_D2 + "Base-RCNN-C4-BN.yaml:5"),
    (VOCDET, "MODEL.ROI_HEADS.NAME", 'Res5ROIHeadsExtraNorm', PIXPRO_D2 + "Base-RCNN-C4-BN.yaml:7"),
    (VOCDET, "MODEL.BACKBONE.FREEZE_AT", 0, PIXPRO_D2 + "Base-RCNN-C4-BN.yaml:9"),
    (VOCDET, "MODEL.RESNETS.NORM", 'SyncBN', PIXPRO_D2 + "Base-RCNN-C4-BN.yaml:11"),
    (VOCDET, "TEST.PRECISE_BN.ENABLED", True, PIXPRO_D2 + "Base-RCNN-C4-BN.yaml:14"),
    (VOCDET, "SOLVER.IMS_PER_BATCH", 16, PIXPRO_D2 + "Base-RCNN-C4-BN.yaml:16"),
    (VOCDET, "SOLVER.BASE_LR", 0.02, PIXPRO_D2 + "Base-RCNN-C4-BN.yaml:17"),
    (VOCDET, "MODEL.RESNETS.DEPTH", 50, PIXPRO_D2 + "Base-RCNN-C4-BN.yaml sets no depth: Detectron2 defaults.py MODEL.RESNETS.DEPTH 50"),
    (C4, "MODEL.MASK_ON", True, PIXPRO_D2 + "COCO_R_50_C4_1x.yaml:3"),
    (C4, "INPUT.MIN_SIZE_TRAIN", [640, 672, 704, 736, 768, 800], PIXPRO_D2 + "COCO_R_50_C4_1x.yaml:6"),
    (C4, "INPUT.MIN_SIZE_TEST", 800, PIXPRO_D2 + "COCO_R_50_C4_1x.yaml:7"),
    (C4, "SOLVER.STEPS", [60000, 80000], PIXPRO_D2 + "COCO_R_50_C4_1x.yaml:12"),
    (C4, "SOLVER.MAX_ITER", 90000, PIXPRO_D2 + "COCO_R_50_C4_1x.yaml:13"),
    (VOCDET, "MODEL.MASK_ON", False, PIXPRO_D2 + "Pascal_VOC_R_50_C4_24k.yaml:3"),
    (VOCDET, "MODEL.ROI_HEADS.NUM_CLASSES", 20, PIXPRO_D2 + "Pascal_VOC_R_50_C4_24k.yaml:6"),
    (VOCDET, "INPUT.MIN_SIZE_TRAIN", [480, 512, 544, 576, 608, 640, 672, 704, 736, 768, 800], PIXPRO_D2 + "Pascal_VOC_R_50_C4_24k.yaml:8"),
    (VOCDET, "INPUT.MIN_SIZE_TEST", 800, PIXPRO_D2 + "Pascal_VOC_R_50_C4_24k.yaml:9"),
    (VOCDET, "SOLVER.STEPS", [18000, 22000], PIXPRO_D2 + "Pascal_VOC_R_50_C4_24k.yaml:14"),
    (VOCDET, "SOLVER.MAX_ITER", 24000, PIXPRO_D2 + "Pascal_VOC_R_50_C4_24k.yaml:15"),
    (VOCDET, "SOLVER.WARMUP_ITERS", 100, PIXPRO_D2 + "Pascal_VOC_R_50_C4_24k.yaml:16"),
    (FPN, "MODEL.PIXEL_MEAN", [123.675, 116.28, 103.53], PIXPRO_D2 + "COCO_R_50_FPN_1x_PixPro.yaml:3"),
    (FPN, "MODEL.PIXEL_STD", [58.395, 57.12, 57.375], PIXPRO_D2 + "COCO_R_50_FPN_1x_PixPro.yaml:4"),
    (FPN, "MODEL.RESNETS.STRIDE_IN_1X1", False, PIXPRO_D2 + "COCO_R_50_FPN_1x_PixPro.yaml:7"),
    (FPN, "INPUT.FORMAT", "RGB", PIXPRO_D2 + "COCO_R_50_FPN_1x_PixPro.yaml:9"),
    (FPN, "MODEL.BACKBONE.FREEZE_AT", 0, PIXPRO_D2 + "COCO_R_50_FPN_1x.yaml:6"),
    (FPN, "MODEL.RESNETS.DEPTH", 50, PIXPRO_D2 + "COCO_R_50_FPN_1x.yaml:8"),
    (FPN, "MODEL.RESNETS.NORM", "SyncBN", PIXPRO_D2 + "COCO_R_50_FPN_1x.yaml:9"),
    (FPN, "MODEL.FPN.NORM", "SyncBN", PIXPRO_D2 + "COCO_R_50_FPN_1x.yaml:11"),
    (FPN, "MODEL.ROI_BOX_HEAD.NUM_CONV", 4, PIXPRO_D2 + "COCO_R_50_FPN_1x.yaml:14"),
    (FPN, "MODEL.ROI_BOX_HEAD.NUM_FC", 1, PIXPRO_D2 + "COCO_R_50_FPN_1x.yaml:15"),
    (FPN, "MODEL.ROI_BOX_HEAD.NORM", "SyncBN", PIXPRO_D2 + "COCO_R_50_FPN_1x.yaml:16"),
    (FPN, "MODEL.ROI_MASK_HEAD.NORM", "SyncBN", PIXPRO_D2 + "COCO_R_50_FPN_1x.yaml:18"),
    (FPN, "TEST.PRECISE_BN.ENABLED", True, PIXPRO_D2 + "COCO_R_50_FPN_1x.yaml:21"),
    (FPN, "SOLVER.STEPS", [60000, 80000], PIXPRO_D2 + "COCO_R_50_FPN_1x.yaml:23"),
    (FPN, "SOLVER.MAX_ITER", 90000, PIXPRO_D2 + "COCO_R_50_FPN_1x.yaml:24"),
    (FPN, "SOLVER.IMS_PER_BATCH", 16, PIXPRO_D2 + "Base-RCNN-FPN.yaml:36"),
    (FPN, "SOLVER.BASE_LR", 0.02, PIXPRO_D2 + "Base-RCNN-FPN.yaml:37"),
    (FPN, "INPUT.MIN_SIZE_TRAIN", [640, 672, 704, 736, 768, 800], PIXPRO_D2 + "Base-RCNN-FPN.yaml:41"),
    (VOC, "model.data_preprocessor.mean", [0.485, 0.456, 0.406], SLOTCON_SEG + "_base_/datasets/pascal_voc12_aug_513x513_moco.py:4"),
    (VOC, "model.data_preprocessor.std", [0.229, 0.224, 0.225], SLOTCON_SEG + "_base_/datasets/pascal_voc12_aug_513x513_moco.py:4"),
    (VOC, "model.data_preprocessor.size", [513, 513], SLOTCON_SEG + "_base_/datasets/pascal_voc12_aug_513x513_moco.py:5"),
    (VOC, "train_dataloader.dataset.datasets.1.pipeline.2.scale", [2049, 513], SLOTCON_SEG + "_base_/datasets/pascal_voc12_aug_513x513_moco.py:9"),
    (VOC, "train_dataloader.dataset.datasets.1.pipeline.3.cat_max_ratio", 1.0, SLOTCON_SEG + "_base_/datasets/pascal_voc12_aug_513x513_moco.py:10 (default)"),
    (VOC, "val_dataloader.dataset.pipeline.1.scale", [2049, 513], SLOTCON_SEG + "_base_/datasets/pascal_voc12_aug_513x513_moco.py:21"),
    (VOC, "model.backbone.dilations", [1, 1, 1, 2], SLOTCON_SEG + "voc12aug/fcn_d6_r50-d16_513x513_30k_voc12aug_moco.py:10"),
    (VOC, "model.backbone.strides", [1, 2, 2, 1], SLOTCON_SEG + "voc12aug/fcn_d6_r50-d16_513x513_30k_voc12aug_moco.py:10"),
    (VOC, "model.decode_head.channels", 256, SLOTCON_SEG + "voc12aug/fcn_d6_r50-d16_513x513_30k_voc12aug_moco.py:11"),
    (VOC, "model.decode_head.dilation", 6, SLOTCON_SEG + "voc12aug/fcn_d6_r50-d16_513x513_30k_voc12aug_moco.py:12"),
    (VOC, "train_dataloader.dataset.type", "ConcatDataset", "open-mmlab/mmsegmentation 0.x configs/_base_/datasets/pascal_voc12_aug.py (SlotCon's base: list ann_dir and split build a ConcatDataset)"),
    (VOC, "train_dataloader.dataset.datasets.0.ann_file", "ImageSets/Segmentation/train.txt", "mmsegmentation 0.x configs/_base_/datasets/pascal_voc12_aug.py split[0]"),
    (VOC, "train_dataloader.dataset.datasets.0.data_prefix.seg_map_path", "SegmentationClass", "mmsegmentation 0.x configs/_base_/datasets/pascal_voc12_aug.py ann_dir[0]"),
    (VOC, "train_dataloader.dataset.datasets.1.ann_file", "ImageSets/Segmentation/aug.txt", "mmsegmentation 0.x configs/_base_/datasets/pascal_voc12_aug.py split[1]"),
    (VOC, "train_dataloader.dataset.datasets.1.data_prefix.seg_map_path", "SegmentationClassAug", "mmsegmentation 0.x configs/_base_/datasets/pascal_voc12_aug.py ann_dir[1]"),
    (VOC_DENSECL, "train_dataloader.dataset.datasets.0.ann_file", "ImageSets/Segmentation/train.txt", DENSECL_SEG + "_base_/datasets/pascal_voc12_aug.py split[0]"),
    (VOC_DENSECL, "train_dataloader.dataset.datasets.1.data_prefix.seg_map_path", "SegmentationClassAug", DENSECL_SEG + "_base_/datasets/pascal_voc12_aug.py ann_dir[1]"),
    (VOC, "train_dataloader.batch_size", 16, SLOTCON_SEG + "voc12aug/fcn_d6_r50-d16_513x513_30k_voc12aug_moco.py:6 (8 x 2 GPUs, SlotCon README)"),
    (VOC, "optim_wrapper.optimizer.lr", 0.003, SLOTCON_SEG + "_base_/schedules/schedule_30k_moco.py:2"),
    (VOC, "param_scheduler.0.milestones", [21000, 27000], SLOTCON_SEG + "_base_/schedules/schedule_30k_moco.py:5"),
    (VOC, "train_cfg.max_iters", 30000, SLOTCON_SEG + "_base_/schedules/schedule_30k_moco.py:7"),
    (CITY, "model.data_preprocessor.mean", [0.485, 0.456, 0.406], SLOTCON_SEG + "_base_/datasets/cityscapes_769x769_moco.py:3"),
    (CITY, "train_dataloader.dataset.pipeline.2.scale", [2049, 1025], SLOTCON_SEG + "_base_/datasets/cityscapes_769x769_moco.py:8"),
    (CITY, "val_dataloader.dataset.pipeline.1.scale", [2049, 1025], SLOTCON_SEG + "_base_/datasets/cityscapes_769x769_moco.py:20"),
    (CITY, "model.test_cfg.stride", [513, 513], SLOTCON_SEG + "cityscapes/fcn_d6_r50-d16_769x769_90k_cityscapes_moco.py:15"),
    (CITY, "optim_wrapper.optimizer.lr", 0.01, SLOTCON_SEG + "_base_/schedules/schedule_90k_moco.py:2"),
    (CITY, "param_scheduler.0.milestones", [63000, 81000], SLOTCON_SEG + "_base_/schedules/schedule_90k_moco.py:5"),
    (CITY, "train_cfg.max_iters", 90000, SLOTCON_SEG + "_base_/schedules/schedule_90k_moco.py:7"),
    (CITY_DENSECL, "train_dataloader.batch_size", 8, DENSECL_SEG + "_base_/datasets/cityscapes.py (samples_per_gpu 2) x GPUS=4 (DenseCL benchmarks/detection/README.md:40)"),
    (CITY_DENSECL, "train_dataloader.dataset.pipeline.2.scale", [2049, 1025], DENSECL_SEG + "_base_/datasets/cityscapes_769x769.py:9"),
    ("recipe:pixpro/paper_in1k_100ep", "train.optimizer.lr", 1.0, "zdaxie/PixPro tools/pixpro_base_r50_100ep.sh:25"),
    ("recipe:pixpro/paper_in1k_100ep", "train.optimizer.weight_decay", 1e-5, "zdaxie/PixPro tools/pixpro_base_r50_100ep.sh:26"),
    ("recipe:pixpro/paper_in1k_100ep", "train.schedule.warmup_epochs", 5, "zdaxie/PixPro tools/pixpro_base_r50_100ep.sh:27"),
    ("recipe:pixpro/paper_in1k_100ep", "train.epochs", 100, "zdaxie/PixPro tools/pixpro_base_r50_100ep.sh:28"),
    ("recipe:pixpro/paper_in1k_100ep", "train.precision", "fp16", "zdaxie/PixPro tools/pixpro_base_r50_100ep.sh:29 (apex O1)"),
    ("recipe:pixpro/paper_in1k_100ep", "train.batch_size", 1024, "zdaxie/PixPro tools/pixpro_base_r50_100ep.sh:9,18 (8 x 128)"),
    ("recipe:pixpro/paper_in1k_100ep", "params.gamma", 2.0, "zdaxie/PixPro tools/pixpro_base_r50_100ep.sh:34"),
    ("recipe:pixpro/paper_in1k_100ep", "train.ema.base", 0.99, "zdaxie/PixPro tools/pixpro_base_r50_100ep.sh:35"),
    ("recipe:pixpro/paper_in1k_100ep", "params.T", 0.7, "zdaxie/PixPro tools/pixpro_base_r50_100ep.sh:36"),
    ("recipe:pixpro/paper_in1k_100ep", "params.crop_scale", [0.08, 1.0], "zdaxie/PixPro tools/pixpro_base_r50_100ep.sh:15"),
    ("recipe:slotcon/paper", "params.hidden", 4096, "CVMI-Lab/SlotCon scripts/slotcon_coco_r50_800ep.sh:16"),
    ("recipe:slotcon/paper", "params.dim", 256, "CVMI-Lab/SlotCon scripts/slotcon_coco_r50_800ep.sh:17"),
    ("recipe:slotcon/paper", "params.num_prototypes", 256, "CVMI-Lab/SlotCon scripts/slotcon_coco_r50_800ep.sh:18"),
    ("recipe:slotcon/paper", "train.ema.base", 0.99, "CVMI-Lab/SlotCon scripts/slotcon_coco_r50_800ep.sh:19"),
    ("recipe:slotcon/paper", "params.t_teacher", 0.07, "CVMI-Lab/SlotCon scripts/slotcon_coco_r50_800ep.sh:20"),
    ("recipe:slotcon/paper", "params.group_weight", 0.5, "CVMI-Lab/SlotCon scripts/slotcon_coco_r50_800ep.sh:21"),
    ("recipe:slotcon/paper", "train.batch_size", 512, "CVMI-Lab/SlotCon scripts/slotcon_coco_r50_800ep.sh:23"),
    ("recipe:slotcon/paper", "train.optimizer.weight_decay", 1e-5, "CVMI-Lab/SlotCon scripts/slotcon_coco_r50_800ep.sh:26"),
    ("recipe:slotcon/paper", "train.epochs", 800, "CVMI-Lab/SlotCon scripts/slotcon_coco_r50_800ep.sh:28"),
    ("recipe:slotcon/paper", "train.precision", "fp16", "CVMI-Lab/SlotCon scripts/slotcon_coco_r50_800ep.sh:29"),
    ("recipe:slotcon/paper", "params.t_student", 0.1, "CVMI-Lab/SlotCon main_pretrain.py:42 (default)"),
    ("recipe:slotcon/paper", "params.center_momentum", 0.9, "CVMI-Lab/SlotCon main_pretrain.py:43 (default)"),
    ("recipe:byol/paper", "train.ema.base", 0.99, "Jiahao000/ORL configs/selfsup/orl/coco/stage1/r50_bs512_ep800.py:8"),
    ("recipe:byol/paper", "params.hidden", 4096, "Jiahao000/ORL configs/selfsup/orl/coco/stage1/r50_bs512_ep800.py:18"),
    ("recipe:byol/paper", "params.dim", 256, "Jiahao000/ORL configs/selfsup/orl/coco/stage1/r50_bs512_ep800.py:19"),
    ("recipe:byol/paper", "train.batch_size", 512, "Jiahao000/ORL configs/selfsup/orl/coco/stage1/r50_bs512_ep800.py:76"),
    ("recipe:byol/paper", "train.optimizer.lr", 0.4, "Jiahao000/ORL configs/selfsup/orl/coco/stage1/r50_bs512_ep800.py:93"),
    ("recipe:byol/paper", "train.precision", "fp16", "Jiahao000/ORL configs/selfsup/orl/coco/stage1/r50_bs512_ep800.py:95"),
    ("recipe:byol/paper", "train.schedule.warmup_epochs", 4, "Jiahao000/ORL configs/selfsup/orl/coco/stage1/r50_bs512_ep800.py:103"),
    ("recipe:byol/paper", "train.schedule.warmup_from", 0.0001, "Jiahao000/ORL configs/selfsup/orl/coco/stage1/r50_bs512_ep800.py:104"),
    ("recipe:byol/paper", "train.epochs", 800, "Jiahao000/ORL configs/selfsup/orl/coco/stage1/r50_bs512_ep800.py:108"),
    ("recipe:byol/paper", "train.schedule.warmup_style", "mmcv", "Jiahao000/ORL configs/selfsup/orl/coco/stage1/r50_bs512_ep800.py:100-106 (lr_config CosineAnnealing: mmcv's LrUpdaterHook)"),
    ("recipe:byol/paper", "train.schedule.per", "epoch", "Jiahao000/ORL configs/selfsup/orl/coco/stage1/r50_bs512_ep800.py:100-106 (mmcv's by_epoch default True)"),
    ("recipe:orl/paper", "train.schedule.warmup_style", "mmcv", "Jiahao000/ORL configs/selfsup/orl/coco/stage3/r50_bs512_ep800.py lr_config (CosineAnnealing: mmcv's LrUpdaterHook)"),
    ("recipe:orl/paper", "train.ema.base", 0.99, "Jiahao000/ORL configs/selfsup/orl/coco/stage3/r50_bs512_ep800.py:8"),
    ("recipe:orl/paper", "params.hidden", 4096, "Jiahao000/ORL configs/selfsup/orl/coco/stage3/r50_bs512_ep800.py:21"),
    ("recipe:orl/paper", "params.dim", 256, "Jiahao000/ORL configs/selfsup/orl/coco/stage3/r50_bs512_ep800.py:22"),
    ("recipe:orl/paper", "train.batch_size", 512, "Jiahao000/ORL configs/selfsup/orl/coco/stage3/r50_bs512_ep800.py:109"),
    ("recipe:orl/paper", "params.knn", 10, "Jiahao000/ORL configs/selfsup/orl/coco/stage3/r50_bs512_ep800.py:115"),
    ("recipe:orl/paper", "params.patch", 96, "Jiahao000/ORL configs/selfsup/orl/coco/stage3/r50_bs512_ep800.py:121"),
    ("recipe:orl/paper", "params.jitter_shift", [-0.5, 0.5], "Jiahao000/ORL configs/selfsup/orl/coco/stage3/r50_bs512_ep800.py:123"),
    ("recipe:orl/paper", "params.jitter_scale", [0.5, 2.0], "Jiahao000/ORL configs/selfsup/orl/coco/stage3/r50_bs512_ep800.py:124"),
    ("recipe:orl/paper", "params.jitter_ratio", [0.5, 2.0], "Jiahao000/ORL configs/selfsup/orl/coco/stage3/r50_bs512_ep800.py:125"),
    ("recipe:orl/paper", "params.jitter_iou", 0.5, "Jiahao000/ORL configs/selfsup/orl/coco/stage3/r50_bs512_ep800.py:126"),
    ("recipe:orl/paper", "params.jitter_tries", 200, "Jiahao000/ORL configs/selfsup/orl/coco/stage3/r50_bs512_ep800.py:127"),
    ("recipe:orl/paper", "train.optimizer.lr", 0.4, "Jiahao000/ORL configs/selfsup/orl/coco/stage3/r50_bs512_ep800.py:136"),
    ("recipe:orl/paper", "train.optimizer.weight_decay", 0.0001, "Jiahao000/ORL configs/selfsup/orl/coco/stage3/r50_bs512_ep800.py:136"),
    ("recipe:orl/paper", "train.precision", 'fp16', "Jiahao000/ORL configs/selfsup/orl/coco/stage3/r50_bs512_ep800.py:138"),
    ("recipe:orl/paper", "train.schedule.warmup_epochs", 4, "Jiahao000/ORL configs/selfsup/orl/coco/stage3/r50_bs512_ep800.py:146"),
    ("recipe:orl/paper", "train.schedule.warmup_from", 0.0001, "Jiahao000/ORL configs/selfsup/orl/coco/stage3/r50_bs512_ep800.py:147"),
    ("recipe:orl/paper", "train.epochs", 800, "Jiahao000/ORL configs/selfsup/orl/coco/stage3/r50_bs512_ep800.py:151"),
    ("recipe:orl/paper", "params.pair_ratio", 0.1, "Jiahao000/ORL configs/selfsup/orl/coco/stage2/r50_bs512_ep800_generate_all_correspondence.py:9"),
    ("recipe:orl/paper", "params.roi_size", 224, "Jiahao000/ORL configs/selfsup/orl/coco/stage2/r50_bs512_ep800_generate_all_correspondence.py:60"),
    ("recipe:orl/paper", "params.min_box", 96, "Jiahao000/ORL configs/selfsup/orl/coco/stage2/r50_bs512_ep800_generate_all_correspondence.py:61"),
    ("recipe:orl/paper", "params.max_ratio", 3, "Jiahao000/ORL configs/selfsup/orl/coco/stage2/r50_bs512_ep800_generate_all_correspondence.py:62"),
    ("recipe:orl/paper", "params.max_iou", 0.5, "Jiahao000/ORL configs/selfsup/orl/coco/stage2/r50_bs512_ep800_generate_all_correspondence.py:63"),
    ("recipe:orl/paper", "params.top_n", 100, "Jiahao000/ORL configs/selfsup/orl/coco/stage2/r50_bs512_ep800_generate_all_correspondence.py:64"),
    ("recipe:orl/paper", "params.knn_resize", 256, "Jiahao000/ORL tools/coco_knn_image_retrieval.ipynb (Trans: T.Resize(256))"),
    ("recipe:orl/paper", "params.knn_crop", 224, "Jiahao000/ORL tools/coco_knn_image_retrieval.ipynb (Trans: T.CenterCrop(224))"),
    ("recipe:orl/paper", "after.stage1", 'byol/paper', "Jiahao000/ORL configs/selfsup/orl/coco/stage1/r50_bs512_ep800.py (stage 1 = BYOL)"),
    ("recipe:densecl/paper", "params.K", 65536, "WXinlong/DenseCL configs/selfsup/densecl/densecl_coco_800ep.py:6"),
    ("recipe:densecl/paper", "params.dim", 128, "WXinlong/DenseCL configs/selfsup/densecl/densecl_coco_800ep.py:7"),
    ("recipe:densecl/paper", "train.ema.base", 0.999, "WXinlong/DenseCL configs/selfsup/densecl/densecl_coco_800ep.py:8"),
    ("recipe:densecl/paper", "params.lam", 0.5, "WXinlong/DenseCL configs/selfsup/densecl/densecl_coco_800ep.py:9"),
    ("recipe:densecl/paper", "params.hidden", 2048, "WXinlong/DenseCL configs/selfsup/densecl/densecl_coco_800ep.py:19"),
    ("recipe:densecl/paper", "params.tau", 0.2, "WXinlong/DenseCL configs/selfsup/densecl/densecl_coco_800ep.py:22"),
    ("recipe:densecl/paper", "train.batch_size", 256, "WXinlong/DenseCL configs/selfsup/densecl/densecl_coco_800ep.py:60"),
    ("recipe:densecl/paper", "train.optimizer.lr", 0.3, "WXinlong/DenseCL configs/selfsup/densecl/densecl_coco_800ep.py:70"),
    ("recipe:densecl/paper", "train.epochs", 800, "WXinlong/DenseCL configs/selfsup/densecl/densecl_coco_800ep.py:75"),
    # voc07_svm (VOC07 SVMs, full and low-shot): ORL's benchmarks, as dist_test_svm_pretrain.sh runs them
    (SVM, "dataset.train", 'trainval07', ORL + "benchmarks/extract_info/voc07.py:4 (split_at [5011]: VOC2007 trainval, then test)"),
    (SVM, "dataset.classes", 'voc', ORL + "tools/prepare_data/create_voc_data_files.py:82 (the 20 per-class lists, sorted)"),
    (SVM, "features.resize", 256, ORL + "benchmarks/extract_info/voc07.py:16"),
    (SVM, "features.size", [224, 224], ORL + "benchmarks/extract_info/voc07.py:17"),
    (SVM, "features.batch_size", 32, ORL + "benchmarks/extract_info/voc07.py:9"),
    (SVM, "features.stage", 'layer4', ORL + "benchmarks/svm_tools/eval_svm_full.sh:6 (FEAT_LIST default feat5 = res5)"),
    (SVM, "features.pool", [6, 1, 0], ORL + "openselfsup/models/utils/multi_pooling.py:13"),
    (SVM, "costs", [1.0, 10.0, 100.0], ORL + "benchmarks/svm_tools/eval_svm_full.sh:12"),
    (SVM, "halvings", [4, 19], ORL + "benchmarks/svm_tools/svm_helper.py:44 (range(4, 20): 0.5**4 .. 0.5**19)"),
    (SVM, "svm.positive_weight", 2, ORL + "benchmarks/svm_tools/train_svm_kfold_parallel.py:42"),
    (SVM, "svm.intercept_scaling", 1.0, ORL + "benchmarks/svm_tools/train_svm_kfold_parallel.py:45"),
    (SVM, "svm.penalty", 'l2', ORL + "benchmarks/svm_tools/train_svm_kfold_parallel.py:47"),
    (SVM, "svm.loss", 'squared_hinge', ORL + "benchmarks/svm_tools/train_svm_kfold_parallel.py:48"),
    (SVM, "svm.tol", 0.0001, ORL + "benchmarks/svm_tools/train_svm_kfold_parallel.py:49"),
    (SVM, "svm.dual", True, ORL + "benchmarks/svm_tools/train_svm_kfold_parallel.py:50"),
    (SVM, "svm.max_iter", 2000, ORL + "benchmarks/svm_tools/train_svm_kfold_parallel.py:51"),
    (SVM, "folds", 3, ORL + "benchmarks/svm_tools/train_svm_kfold_parallel.py:56"),
    (SVM, "low_shot.shots", [1, 2, 4, 8, 16, 32, 64, 96], ORL + "benchmarks/svm_tools/eval_svm_lowshot.sh:18"),
    (SVM, "low_shot.samples", 5, ORL + "benchmarks/svm_tools/eval_svm_lowshot.sh:28 ({1..5}); tools/prepare_data/prepare_voc07_cls.sh:27"),
    # cocostuff_unsup (SlotCon Table 5): PiCIE's evaluation, as sh_files/test_picie.sh runs train_picie.py --eval_only
    (PICIE, "res", 320, PICIE_REPO + "sh_files/test_picie.sh:11 (--res 320; train_picie.py:29 default 320)"),
    (PICIE, "kmeans.k", 27, PICIE_REPO + "train_picie.py:49 (--K_test 27)"),
    (PICIE, "kmeans.batch", 256, PICIE_REPO + "train_picie.py:32 (--batch_size_cluster 256)"),
    (PICIE, "kmeans.init_batches", 30, PICIE_REPO + "train_picie.py:39 (--num_init_batches 30)"),
    (PICIE, "kmeans.update_batches", 30, PICIE_REPO + "train_picie.py:40 (--num_batches 30)"),
    (PICIE, "kmeans.niter", 30, PICIE_REPO + "train_picie.py:41 (--kmeans_n_iter 30)"),
    (PICIE, "dataset.fit", 'train', PICIE_REPO + "train_picie.py:65 (--val_type train, read by utils.get_dataset 'eval_val')"),
    (PICIE, "dataset.test", 'val', PICIE_REPO + "utils.py:326 (get_dataset 'eval_test': split 'val')"),
    # linear_cls (ORL's ImageNet linear column): OpenSelfSup's "ImageNet (Last)", run by benchmarks/dist_train_linear.sh
    (LIN, "head.stage", 'layer4', LIN_CFG + "11 (out_indices [4]: stage 4)"),
    (LIN, "head.init_std", 0.01, ORL + "openselfsup/models/heads/cls_head.py:28 (init_weights std=0.01, bias 0)"),
    (LIN, "schedule.lr", 30.0, LIN_CFG + "71"),
    (LIN, "schedule.momentum", 0.9, LIN_CFG + "71"),
    (LIN, "schedule.weight_decay", 0.0, LIN_CFG + "71"),
    (LIN, "schedule.nesterov", False, LIN_CFG + "71 (SGD without nesterov)"),
    (LIN, "schedule.steps", [60, 80], LIN_CFG + "73"),
    (LIN, "schedule.gamma", 0.1, LIN_CFG + "73 (mmcv StepLrUpdaterHook default gamma 0.1)"),
    (LIN, "schedule.epochs", 100, LIN_CFG + "76"),
    (LIN, "schedule.batch_size", 256, LIN_CFG + "42 (32 per GPU x 8 GPUs)"),
    (LIN, "schedule.workers", 5, LIN_CFG + "43"),
    (LIN, "pipeline.train_crop", 224, LIN_CFG + "29"),
    (LIN, "pipeline.test_resize", 256, LIN_CFG + "33"),
    (LIN, "pipeline.test_crop", 224, LIN_CFG + "34"),
    (LIN, "validate_every", 1, LIN_CFG + "63"),
    (LIN, "report", 'best', ORL + "docs/MODEL_ZOO.md:57 (ImageNet (Last): the best top-1 among all epochs)"),
    # semi_cls (ORL's semi-supervised columns): the rows of each subset follow SEMI_ROWS below
]

# semi_cls: base.py and the grid files of each subset (imagenet_1percent/ and imagenet_10percent/ differ
# in the list, the weight decay and where total_epochs sits)
for _t, _pct, _wd, _epochs_line in ((SEMI1, 1, 0.0005, 77), (SEMI10, 10, 0.0001, 71)):
    _c = SEMI_CFG.format(_pct)
    ROWS += [
        (_t, "labels.list", f"meta/train_labeled_{_pct}percent.txt", _c + "base.py:19 (data_train_list under data/imagenet/)"),
        (_t, "head.stage", "layer4", _c + "base.py:9 (out_indices [4])"),
        (_t, "schedule.epochs", 20, _c + f"base.py:{_epochs_line}"),
        (_t, "schedule.steps", [12, 16], _c + "base.py:68"),
        (_t, "schedule.gamma", 0.2, _c + "base.py:68"),
        (_t, "schedule.batch_size", 256, _c + "base.py:39 (64 per GPU, total 256)"),
        (_t, "schedule.momentum", 0.9, _c + "r50_lr0_01_head100.py:3 (every r50_lr*_head*.py)"),
        (_t, "schedule.weight_decay", _wd, _c + "r50_lr0_01_head100.py:3 (every r50_lr*_head*.py of the subset)"),
        (_t, "grid.lr", [0.001, 0.01, 0.1], _c + "r50_lr0_001_*.py, r50_lr0_01_*.py, r50_lr0_1_*.py:3"),
        (_t, "grid.head_lr_mult", [1, 10, 100], _c + "r50_lr*_head{1,10,100}.py:4 (paramwise lr_mult)"),
        (_t, "pipeline.train_crop", 224, _c + "base.py:26"),
        (_t, "pipeline.test_resize", 256, _c + "base.py:30"),
        (_t, "pipeline.test_crop", 224, _c + "base.py:31"),
    ]


@functools.lru_cache(maxsize=None)
def resolved(target: str):
    kind, ref = target.split(":")
    if kind == "recipe":
        method, name = ref.split("/")
        return to_data(METHODS.card(method).recipe(name))
    task, pid = ref.split("/")  # the framework config as the framework receives it (bench protocol show --resolved)
    return yaml.safe_load(TASKS.load(task).framework_config(TASKS.protocol(task, pid).settings("paper"), "paper"))


def lookup(tree, path: str):
    for part in path.split("."):
        tree = tree[int(part)] if isinstance(tree, list) else tree[part]
    return tree


@pytest.mark.parametrize("target,path,value,source", ROWS, ids=[f"{r[0].split(':')[1]}:{r[1]}" for r in ROWS])
def test_paper_value_is_the_official_one(target, path, value, source):
    got = lookup(resolved(target), path)
    if isinstance(value, float):
        assert got == pytest.approx(value), source
    else:
        assert (list(got) if isinstance(got, tuple) else got) == value, source
