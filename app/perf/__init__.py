"""`bench perf`'s measurements, one room: `step` (a pre-training step's time and peak memory per
method, on CPU or CUDA), `contention` (the step under each OpenMP wait setting, alone and beside a busy
process), `official` (DenseBench's step beside the official implementation's), `davis` (J&F scoring
against the official algorithm and program, the whole `bench davis-score` command timed) and
`coco_eval` (the COCOeval backends on a COCO-val-sized synthetic set). The command is app/cli/perf.py."""
