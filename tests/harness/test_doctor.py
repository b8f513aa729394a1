import re

from app.cli import main


def test_doctor_reports_frameworks_and_data(tmp_path, tiny_coco, capsys, monkeypatch):
    monkeypatch.delenv("DENSEBENCH_DATA", raising=False)
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "torch " in out and "detectron2 " in out and ("compiled ops present" in out or "pure-Python build" in out)
    assert "data root    not set" in out
    assert "threads      2 intra-op" in out and "idle wait: GOMP_SPINCOUNT=" in out  # conftest: 2 threads
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "coco").symlink_to(tiny_coco)
    assert main(["doctor", "--data-root", str(tmp_path / "root")]) == 0
    out = capsys.readouterr().out
    assert re.search(r"coco train\s+found: ", out) and re.search(r"coco val\s+found: ", out)
    (tmp_path / "empty").mkdir()
    assert main(["doctor", "--data-root", str(tmp_path / "empty")]) == 0
    assert "missing: COCO train2017: expected" in capsys.readouterr().out
    assert main(["doctor", "--data-root", str(tmp_path / "nothing")]) == 2  # a root named that is not there
    assert "--data-root " + str(tmp_path / "nothing") + ": no such folder" in capsys.readouterr().err


def test_doctor_names_an_opencv_clash(monkeypatch):
    from harness import doctor
    assert "opencv-contrib-python-headless" in doctor.opencv_line()  # this set-up: the contrib build alone
    installed = {"opencv-python": "4.10.0", "opencv-contrib-python-headless": "5.0.0"}
    monkeypatch.setattr(doctor, "_version", lambda *d: next((f"{installed[x]} ({x})" for x in d if x in installed), None))
    line = doctor.opencv_line()
    assert line.startswith("CLASH: opencv-python, opencv-contrib-python-headless") and "share the cv2 folder" in line
    installed.pop("opencv-contrib-python-headless")
    assert "no contrib modules" in doctor.opencv_line()
