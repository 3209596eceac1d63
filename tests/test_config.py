import random
import sys

import numpy as np
import pytest
import torch

import course_lib as cl


def test_get_device_default_is_available(monkeypatch):
    monkeypatch.delenv("COURSE_DEVICE", raising=False)
    dev = cl.config.get_device()
    expected = "cuda" if torch.cuda.is_available() else dev.type
    assert dev.type == expected
    if not torch.cuda.is_available() and not torch.backends.mps.is_available():
        assert dev.type == "cpu"


def test_get_device_override_and_env(monkeypatch):
    assert cl.config.get_device("cpu") == torch.device("cpu")
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    assert cl.config.get_device().type == "cpu"


@pytest.mark.parametrize("bad", ["tpu", "gpu", ""])
def test_get_device_unknown_name(bad):
    with pytest.raises(ValueError, match="device"):
        cl.config.get_device(bad or "nope")


def test_get_device_type_error():
    with pytest.raises(TypeError, match="device"):
        cl.config.get_device(3)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_get_device_unavailable_cuda():
    with pytest.raises(ValueError, match="cuda"):
        cl.config.get_device("cuda")


def test_get_size(monkeypatch):
    monkeypatch.delenv("COURSE_SIZE", raising=False)
    assert cl.config.get_size(device="cpu") == "fast"
    assert cl.config.FULL_VERIFIED_ON == ()  # no GPU run of the full size recorded: fast everywhere
    monkeypatch.setattr(cl.config, "FULL_VERIFIED_ON", ("cpu",))
    assert cl.config.get_size(device="cpu") == "full"
    monkeypatch.setattr(cl.config, "FULL_VERIFIED_ON", ())
    assert cl.config.get_size("FULL") == "full"
    monkeypatch.setenv("COURSE_SIZE", "full")
    assert cl.config.get_size() == "full"
    with pytest.raises(ValueError, match="size"):
        cl.config.get_size("medium")
    with pytest.raises(TypeError, match="size"):
        cl.config.get_size(1)


def test_pick_follows_the_size_setup_chose(monkeypatch):
    monkeypatch.setenv("COURSE_SIZE", "full")
    assert cl.setup(size="fast", verbose=False).pick(1, 2) == 1  # the argument wins over the environment
    assert cl.setup(verbose=False).pick(1, 2) == 2
    assert not hasattr(cl, "pick") and not hasattr(cl.config, "pick")  # one pick: cfg.pick


def test_get_seed(monkeypatch):
    monkeypatch.delenv("COURSE_SEED", raising=False)
    assert cl.config.get_seed() == 0
    monkeypatch.setenv("COURSE_SEED", "7")
    assert cl.config.get_seed() == 7
    assert cl.config.get_seed(3) == 3
    monkeypatch.setenv("COURSE_SEED", "abc")
    with pytest.raises(ValueError, match="COURSE_SEED"):
        cl.config.get_seed()
    with pytest.raises(ValueError, match="seed"):
        cl.config.get_seed(-1)
    with pytest.raises(TypeError, match="seed"):
        cl.config.get_seed(1.5)


def test_set_seed_reproduces_all_generators():
    cl.config.set_seed(5)
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    cl.config.set_seed(5)
    b = (random.random(), np.random.rand(), torch.rand(1).item())
    assert a == b


def test_setup_reads_environment(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_SEED", "11")
    monkeypatch.setenv("COURSE_SIZE", "fast")
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    cfg = cl.setup()
    assert (cfg.seed, cfg.size, cfg.device.type) == (11, "fast", "cpu")
    assert cfg.pick("a", "b") == "a"
    assert "device=cpu" in capsys.readouterr().out
    assert "seed=11" in str(cfg)


def test_setup_says_how_to_switch_size(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_SIZE", "fast")
    cl.setup(device="cpu")
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "course_lib: device=cpu, size=fast, seed=0"
    assert 'os.environ["COURSE_SIZE"] = "full"' in out[1] and "GPU" not in out[1]
    full = cl.config.Settings(device=cl.config.get_device("cpu"), size="full", seed=0)
    assert '"fast"' in cl.config.switch_hint(full)
    monkeypatch.setitem(sys.modules, "google.colab", object())  # a Colab runtime without a GPU
    assert "Change runtime type > GPU" in cl.config.switch_hint(full)
    fast = cl.config.Settings(device=cl.config.get_device("cpu"), size="fast", seed=0)
    for settings in (fast, full):  # printed indented by two; the page's column shows about 72 on a
        # narrow window (a 74-character line was cut at 1200 px), so keep 10 spare
        assert all(len(line) + 2 <= cl.report.PAGE_WIDTH - 10 for line in cl.config.switch_hint(settings).splitlines())
    with pytest.raises(TypeError, match="settings"):
        cl.config.switch_hint("fast")
