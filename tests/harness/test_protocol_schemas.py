"""Every protocol file read strictly into its task's schema (issue 41 part 3): a misspelled key at the
top of `paper`, inside a section, or in `mini` is a one-line error naming the file and the key path,
when the protocols are listed, not mid-run."""
import shutil

import pytest
import yaml

from harness.errors import BenchError
from harness.protocol import load_protocols, load_task_card, schema_class
from harness.registry import TASKS

OWN_TASKS = ["ade_seg", "cityscapes_seg", "coco_det", "coco_det_c4", "cocostuff_unsup", "davis_vos", "linear_cls",
             "semi_cls", "voc07_svm", "voc_aspp_frozen", "voc_det", "voc_retrieval", "voc_seg"]


def _copy(task, tmp_path):
    src = TASKS.folder(task) / "protocols" / task
    dst = tmp_path / task
    shutil.copytree(src, dst)
    card = load_task_card(dst, task)
    default = next(p for p in load_protocols(dst, task, schema_class(card)).values() if p.default)
    return dst, card, dst / f"{default.id}.yaml"


def test_the_list_of_tasks_is_every_own_task():
    assert sorted(t for t in TASKS.names() if TASKS.entry(t).module.startswith("benchmarks.")) == OWN_TASKS


@pytest.mark.parametrize("task", OWN_TASKS)
@pytest.mark.parametrize("where", ["paper", "dataset", "mini", "top"])
def test_a_misspelled_key_is_refused_naming_file_and_key(task, where, tmp_path):
    folder, card, f = _copy(task, tmp_path)
    d = yaml.safe_load(f.read_text())
    if where == "paper":       # a section name one letter off
        d["paper"]["datset"] = d["paper"].pop("dataset")
        expected = r"paper\.(datset: unknown key|dataset: missing)"
    elif where == "dataset":   # a key inside a section
        d["paper"]["dataset"]["lyout"] = d["paper"]["dataset"]["layout"]
        expected = r"paper\.dataset\.lyout: unknown key"
    elif where == "mini":      # only in the mini overrides
        d.setdefault("mini", {})["dataset"] = {**(d.get("mini") or {}).get("dataset", {}), "synht": {}}
        expected = r"mini \(paper updated by mini\)\.dataset\.synht: unknown key"
    else:                      # next to paper and mini
        d["mnii"] = {}
        expected = r"mnii: unknown key; did you mean 'mini'\?"
    f.write_text(yaml.safe_dump(d, sort_keys=False))
    with pytest.raises(BenchError, match=rf"{f}: {expected}") as e:
        load_protocols(folder, task, schema_class(card))
    assert "\n" not in str(e.value)


def test_a_card_without_a_loadable_schema_is_refused(tmp_path):
    folder, card, _ = _copy("davis_vos", tmp_path)
    text = (folder / "_task.yaml").read_text().replace("benchmarks.protocol_schemas:DavisProtocol", "benchmarks.nowhere:X")
    (folder / "_task.yaml").write_text(text)
    with pytest.raises(BenchError, match=r"_task.yaml: schema 'benchmarks.nowhere:X' cannot be loaded"):
        schema_class(load_task_card(folder, "davis_vos"))
