"""`bench report [--out DIR]`: a static HTML site (no server) built from the results store.

Sections: the seed papers' tables with DenseBench's measured rows (leaderboards.paper_table); a
leaderboard per task, protocol and scale (leaderboards.table), each row linking to its records; a
bar chart per leaderboard of the headline metric with error bars over seeds; pre-training loss
curves read from the runs' TensorBoard logs (the checkpoint's `train/tb`); the pictures the tasks
recorded as artefacts and any PNG given with --images (inspect commands' output: slots, ORL pairs,
UCM maps); and every record (config hash, checkpoint sha256, weights sha256, versions).

Plots use matplotlib (a dependency already; static PNGs need no JavaScript library in the page).
The site is written to a staging folder and moved into place whole: a failed build leaves the
previous report as it was. The page marks itself `data-images-ok` once every image has loaded
(what tests/leaderboards/test_report.py checks in headless Chromium).
"""
from __future__ import annotations

import html
import os
import shutil
from pathlib import Path
from typing import Any

from harness.errors import BenchError

E = html.escape
STYLE = ("body{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}table{border-collapse:collapse;"
         "margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;font-size:90%}caption{font-weight:bold;"
         "text-align:left}figure{display:inline-block;margin:8px}img{max-width:560px;border:1px solid #ddd}")
CHECK = ("<script>window.addEventListener('load',function(){var bad=[].filter.call(document.images,function(i){"
         "return !(i.complete&&i.naturalWidth>0)});document.body.dataset.imagesOk=bad.length?'false:'+bad.length:"
         "'true';document.body.dataset.images=document.images.length;});</script>")


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _paper_tables(recs: list[dict[str, Any]], assets: Path) -> str:
    from leaderboards.agreement import scatter, table_agreement
    from leaderboards.paper_table import lines_for, render
    from leaderboards.published import all_tables
    parts = []
    for t in all_tables().values():
        measured = [c for c in t.columns if c.measured]
        for scale in ("mini", "paper"):
            if not any((r["task"], r["protocol"], r["scale"]) == (c.task, c.protocol, scale) for r in recs for c in measured):
                continue
            left_out: list[str] = []
            lines = lines_for(t, recs, scale, superseded=left_out)
            parts.append(render(t, lines, scale, "html"))
            from leaderboards.shipped import provenance
            prov = provenance(r for ln in lines for r in ln.records)
            if prov:
                parts.append("<p class='note'>Rows marked shipped are DenseBench's own records (leaderboards/measured/, "
                             "read beside yours; your record of a trial replaces its shipped one): "
                             + "; ".join(E(p) for p in prov) + ".</p>")
            a = table_agreement(t, lines, scale)
            name = f"agreement_{t.id}_{scale}.png"
            if scatter(a, {c.id: c.header for c in t.columns}, assets / name, f"{t.id} ({scale})"):
                parts.append(f"<figure><img src='assets/{name}' alt='rank agreement {E(t.id)}'><figcaption>"
                             f"{E(a.verdict)}</figcaption></figure>")
            else:
                parts.append(f"<p class='note'>{E(a.verdict)}.</p>")
            if left_out:
                parts.append(f"<p class='note'>Left out, not the current version of their recipe: "
                             f"{html.escape(', '.join(left_out))}.</p>")
    return "".join(parts) or "<p>No record yet belongs to a paper table's measured columns.</p>"


def _group_id(*key: Any) -> str:
    from harness.schema import stable_hash
    return "recs-" + stable_hash([str(k) for k in key], 10)


def _cell(mean: float, std: float) -> str:
    """'mean +- std' (std 0 for a single seed; n/a without a value)."""
    import pandas as pd
    if pd.isna(mean):
        return "<td>n/a</td>"
    return f"<td>{mean:.2f} &plusmn; {0.0 if pd.isna(std) else std:.2f}</td>"


def _leaderboards(recs: list[dict[str, Any]], assets: Path) -> str:
    from harness.registry import TASKS
    from leaderboards.table import KEYS, frame, summarise
    plt, parts = _plt(), []
    for task in sorted({r["task"] for r in recs}):
        card = TASKS.card(task)
        summary = summarise(frame(recs, task), card.metric_names)
        metrics = [m for m in card.metric_names if m in summary.columns.get_level_values(0)]
        for (proto, scale), part in summary.groupby(level=["protocol", "scale"], sort=True):
            rows = []
            for idx, row in part.iterrows():
                key = dict(zip(KEYS, idx))
                cells = "".join(_cell(row[(m, "mean")], row[(m, "std")]) for m in metrics)
                link = f"<a href='#{_group_id(task, proto, scale, key['method'], key['checkpoint'])}'>records</a>"
                rows.append(f"<tr><td>{E(key['method'])}</td><td>{E(key['checkpoint'])}</td>"
                            f"<td>{int(row[('seeds', '')])}</td>{cells}<td>{link}</td></tr>")
            head = "".join(f"<th>{E(m)}</th>" for m in metrics)
            parts.append(f"<table><caption>{E(proto)} ({E(scale)})</caption><tr><th>method</th><th>pre-training</th>"
                         f"<th>n</th>{head}<th></th></tr>{''.join(rows)}</table>")
            m0 = metrics[0]
            fig, ax = plt.subplots(figsize=(1.2 + 0.9 * len(part), 3))
            labels = [f"{i[2]}\n{i[3]}" for i in part.index]
            ax.bar(range(len(part)), part[(m0, "mean")], yerr=part[(m0, "std")].fillna(0), capsize=4, color="#4a7bb7")
            ax.set_xticks(range(len(part)), labels, fontsize=7)
            ax.set_ylabel(m0)
            ax.set_title(f"{proto} ({scale})", fontsize=8)
            name = f"bar_{len(list(assets.glob('bar_*.png')))}.png"
            fig.tight_layout()
            fig.savefig(assets / name, dpi=90)
            plt.close(fig)
            parts.append(f"<figure><img src='assets/{name}' alt='{E(proto)}'><figcaption>{E(m0)}: mean &plusmn; std "
                         f"over seeds</figcaption></figure>")
    return "".join(parts) or "<p>No records.</p>"


def _loss_curves(recs: list[dict[str, Any]], assets: Path) -> str:
    plt, runs = _plt(), {}
    for r in recs:
        tb = Path(r["checkpoint"]).parent / "train" / "tb"
        p = r.get("pretrain") or {}
        if tb.is_dir():
            runs.setdefault((r["method"], p.get("recipe")), {})[p.get("seed")] = tb
    parts = []
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    for k, ((method, recipe), seeds) in enumerate(sorted(runs.items(), key=lambda kv: str(kv[0]))):
        fig, ax = plt.subplots(figsize=(4.5, 2.8))
        for seed, tb in sorted(seeds.items(), key=lambda kv: str(kv[0])):
            acc = EventAccumulator(str(tb))
            acc.Reload()
            if "train/loss" in acc.Tags().get("scalars", []):
                ev = acc.Scalars("train/loss")
                ax.plot([e.step for e in ev], [e.value for e in ev], lw=0.8, label=f"seed {seed}")
        ax.set_xlabel("iteration")
        ax.set_ylabel("loss")
        ax.set_title(f"{method} / {recipe}", fontsize=9)
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(assets / f"loss_{k}.png", dpi=90)
        plt.close(fig)
        parts.append(f"<figure><img src='assets/loss_{k}.png' alt='{E(method)} loss'><figcaption>{E(method)} / "
                     f"{E(str(recipe))}: pre-training loss</figcaption></figure>")
    return "".join(parts) or "<p>No pre-training logs beside the evaluated checkpoints.</p>"


def _check_png(path: Path) -> Path:
    """A PNG file (by its signature), or a one-line error naming it."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except IsADirectoryError:
        raise BenchError(f"{path}: is a folder; expected a PNG file (a picture the report was asked to show)") from None
    except OSError as e:
        raise BenchError(f"{path}: cannot read ({e.strerror or e}); expected a PNG file (a picture the report "
                         "was asked to show)") from e
    if head != b"\x89PNG\r\n\x1a\n":
        raise BenchError(f"{path}: not a PNG file (a picture the report was asked to show)")
    return path


def _artefact(record_path: str, rel: Any) -> Path:
    """A record's artefact, which must lie inside its run folder (a record is data from disk)."""
    from harness.names import inside
    return inside(Path(record_path).parent, str(rel), what=f"{record_path}: artefact")


def _pictures(recs: list[dict[str, Any]], assets: Path, images: list[Path]) -> str:
    found = [(_artefact(r["_path"], rel), f"{r['task']} / {r['method']} seed {r['seed']}: {name}")
             for r in recs for name, rel in (r.get("artefacts") or {}).items() if str(rel).endswith(".png")]
    found += [(Path(p), Path(p).name) for p in images]
    parts = []
    for k, (src, caption) in enumerate(found):
        _check_png(src)
        shutil.copyfile(src, assets / f"pic_{k}.png")
        parts.append(f"<figure><img src='assets/pic_{k}.png' alt='{E(caption)}'><figcaption>{E(caption)}"
                     f"</figcaption></figure>")
    return "".join(parts) or "<p>No pictures recorded.</p>"


def _records(recs: list[dict[str, Any]]) -> str:
    from leaderboards.trials import identity
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in recs:
        groups.setdefault(_group_id(r["task"], r["protocol_full"], r["scale"], r["method"], identity(r)), []).append(r)
    parts = []
    for gid, rs in groups.items():
        rows = "".join(f"<tr><td>{E(r['task'])}</td><td>{E(r['protocol_full'])}</td><td>{E(r['scale'])}</td><td>{E(r['method'])}</td>"
                       f"<td>{r['seed']}</td><td>{E(r['config_hash'])}</td><td>{E(r['checkpoint_sha256'][:12])}</td>"
                       f"<td>{E(str(r.get('weights_sha256'))[:12])}</td><td>{E(', '.join(f'{k} {v}' for k, v in sorted((r.get('versions') or {}).items())))}</td></tr>"
                       for r in rs)
        parts.append(f"<table id='{gid}'><tr><th>task</th><th>protocol</th><th>scale</th><th>method</th><th>seed</th>"
                     f"<th>config hash</th><th>checkpoint sha256</th><th>weights sha256</th><th>versions</th></tr>{rows}</table>")
    return "".join(parts)


REPORT_MARKER = ".densebench-report.json"


def build_report(out: str | os.PathLike, results_root: str | None = None, images: list[Path] | None = None,
                 shipped: bool = True) -> Path:
    """Write the site to `out` (index.html + assets/ + its manifest), replacing an earlier report
    there whole; a folder holding anything the earlier report's manifest does not list is refused
    (harness.outputs). shipped: the paper tables also read DenseBench's shipped records beside the
    store's (leaderboards.shipped); the other sections show the store's own records."""
    from harness import store
    from harness.files import owner_tag
    from harness.outputs import check_folder_replaceable, publish_folder, write_manifest
    out = Path(out)
    check_folder_replaceable(out, REPORT_MARKER, "a DenseBench report")
    for im in images or []:
        _check_png(im)
    recs = store.iter_records(results_root, with_paths=True)
    stage = out.with_name(f".{out.name}.staging{owner_tag()}")
    shutil.rmtree(stage, ignore_errors=True)
    try:
        (stage / "assets").mkdir(parents=True)
    except OSError as e:
        raise BenchError(f"--out {out}: cannot create {stage} ({e.strerror or e})") from e
    try:
        from leaderboards.shipped import beside, shipped_records
        body = [("Paper tables", _paper_tables(beside(recs, shipped_records()) if shipped else recs, stage / "assets")), ("Leaderboards", _leaderboards(recs, stage / "assets")),
                ("Pre-training loss", _loss_curves(recs, stage / "assets")),
                ("Pictures", _pictures(recs, stage / "assets", images or [])), ("Records", _records(recs))]
        page = (f"<!doctype html><html><head><meta charset='utf-8'><title>DenseBench report</title><style>{STYLE}</style>"
                f"{CHECK}</head><body><h1>DenseBench report</h1><p>{len(recs)} records.</p>"
                + "".join(f"<h2>{E(h)}</h2>{b}" for h, b in body) + "</body></html>\n")
        (stage / "index.html").write_text(page)
        write_manifest(stage, REPORT_MARKER, {"kind": "densebench report"})
        publish_folder(stage, out, REPORT_MARKER, "a DenseBench report")
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return out / "index.html"
