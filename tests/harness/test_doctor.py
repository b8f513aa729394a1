from harness.cli import main


def test_doctor_reports_frameworks_and_data(tmp_path, tiny_coco, capsys, monkeypatch):
    monkeypatch.delenv("DENSEBENCH_DATA", raising=False)
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "torch " in out and "detectron2 " in out and ("compiled ops present" in out or "pure-Python build" in out)
    assert "data root    not set" in out
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "coco").symlink_to(tiny_coco)
    assert main(["doctor", "--data-root", str(tmp_path / "root")]) == 0
    out = capsys.readouterr().out
    assert "coco train  found" in out and "coco val    found" in out
    assert main(["doctor", "--data-root", str(tmp_path / "nothing")]) == 0
    assert "missing: COCO train2017: expected" in capsys.readouterr().out
