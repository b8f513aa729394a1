"""Exported embeddings (harness.embedding): the hypercolumn a method trains is rebuilt from the canonical
checkpoint + heads file with numerically equal output; checkpoints without one fall back (None);
heads that claim one but do not fit are refused."""
import pytest
import torch
import torchvision

from harness.backbone import IMAGENET_NORM
from harness.checkpoint import backbone_state, heads_path, open_checkpoint, save_canonical, save_heads, weights_sha256
from harness.embedding import Hypercolumn, embedding_net
from harness.errors import BenchError

META = {"method": "test", "arch": "resnet18", "pretrain_data": "none", "epochs": 0, "recipe": "mini", "scale": "mini",
        "encoder": "online", "normalization": IMAGENET_NORM, "config": {}}


def _trained_like(width=16, dim=8):
    torch.manual_seed(0)
    net = Hypercolumn(torchvision.models.resnet18(), width, dim)
    net.train()
    for _ in range(2):  # move BN statistics off their initial values, in the backbone and the head
        net(torch.randn(2, 3, 64, 64))
    return net.eval()


def _export(tmp_path, net, meta):
    state = backbone_state(net.backbone)
    ck = tmp_path / "c.safetensors"
    save_canonical(ck, state, META)
    heads = {k: v for k, v in net.state_dict().items() if not k.startswith("backbone.")}
    save_heads(ck, heads, weights_sha256(state), meta)
    return open_checkpoint(ck)


def test_hypercolumn_shapes():
    net = Hypercolumn(torchvision.models.resnet18())
    assert net(torch.randn(2, 3, 64, 96)).shape == (2, 32, 16, 24)


def test_exported_hypercolumn_gives_equal_features(tmp_path):
    net = _trained_like()
    ck = _export(tmp_path, net, {"method": "t", "embedding": "hypercolumn"})
    rebuilt, desc = embedding_net(ck)
    x = torch.randn(1, 3, 96, 80)
    with torch.no_grad():
        assert torch.allclose(rebuilt(x), net(x), atol=1e-5)
    assert desc["kind"] == "hypercolumn" and desc["dim"] == 8 and desc["stride"] == 4
    assert len(desc["heads_sha256"]) == 64 and not rebuilt.training


def test_no_embedding_means_none(tmp_path):
    net = _trained_like()
    ck = _export(tmp_path, net, {"method": "t"})  # heads, but not an embedding (e.g. slotcon's prototypes)
    assert embedding_net(ck) is None
    heads_path(ck.path).unlink()  # no heads file at all
    assert embedding_net(ck) is None


def test_heads_that_do_not_fit_are_refused(tmp_path):
    net = _trained_like()
    ck = _export(tmp_path, net, {"method": "t", "embedding": "spectral"})
    with pytest.raises(BenchError, match="embedding kind 'spectral' is not one"):
        embedding_net(ck)
    state = backbone_state(net.backbone)
    heads = {k: v for k, v in net.state_dict().items() if not k.startswith(("backbone.", "proj4."))}
    save_heads(ck.path, heads, weights_sha256(state), {"embedding": "hypercolumn"})
    with pytest.raises(BenchError, match="does not load strictly"):
        embedding_net(ck)


def test_pca_rgb_worked_example():
    """Four cells in 4-d: variance 100 along e0, 4 along e1, 1 along e2, none along e3, uncorrelated. The first three
    components are e0, e1, e2 (signs fixed: largest loading positive), each scaled to 0-255 over the image."""
    from harness.inspect_embedding import pca_rgb
    cells = torch.tensor([[10.0, 2.0, 1.0, 5.0], [-10.0, 2.0, -1.0, 5.0], [10.0, -2.0, -1.0, 5.0], [-10.0, -2.0, 1.0, 5.0]])
    rgb = pca_rgb(cells.T.reshape(4, 2, 2))
    assert rgb.shape == (2, 2, 3) and rgb.dtype.name == "uint8"
    assert rgb[..., 0].tolist() == [[255, 0], [255, 0]]        # e0: +10 -> 255, -10 -> 0
    assert rgb[..., 1].tolist() == [[255, 255], [0, 0]]        # e1
    assert rgb[..., 2].tolist() == [[255, 0], [0, 255]]        # e2 (the three columns uncorrelated)
    with pytest.raises(BenchError, match="2 channels"):
        pca_rgb(torch.zeros(2, 3, 3))


def test_inspect_embedding_cli(tmp_path, capsys):
    from PIL import Image

    from app.cli import main
    ck = _export(tmp_path, _trained_like(), {"method": "t", "embedding": "hypercolumn"})
    Image.new("RGB", (40, 32), (120, 30, 200)).save(tmp_path / "im.png")
    out = tmp_path / "emb.png"
    assert main(["inspect", "embedding", "--checkpoint", str(ck.path), "--image", str(tmp_path / "im.png"),
                 "--out", str(out)]) == 0
    assert "8-d embedding, 80 cells" in capsys.readouterr().out
    with Image.open(out) as im:
        assert im.size == (2 * 40 + 8, 32)
    heads_path(ck.path).unlink()
    assert main(["inspect", "embedding", "--checkpoint", str(ck.path), "--image", str(tmp_path / "im.png"),
                 "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert "no exported embedding" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.png").exists()
