"""The embedding throughput bench and the plugin's command."""

from __future__ import annotations

import pytest

pytest.importorskip("transformers")

from recplug.errors import ConfigError  # noqa: E402
from recplug_content.bench import bench_encode, synthetic_texts  # noqa: E402
from recplug_content.cli import main  # noqa: E402


def test_bench_times_the_tiny_clip_on_text_and_images(tiny_clip):
    r = bench_encode("clip", tiny_clip, n_items=6, batch_size=4, device="cpu", images=True)
    assert r["dim"] == 16 and r["n_items"] == 6 and r["items_per_second"] > 0
    assert r["precision"] == "float32"


def test_synthetic_texts_are_seeded():
    assert synthetic_texts(5, 1) == synthetic_texts(5, 1) != synthetic_texts(5, 2)


def test_bad_arguments_are_config_errors():
    with pytest.raises(ConfigError, match="kind 'audio'"):
        bench_encode("audio")
    with pytest.raises(ConfigError, match="n_items"):
        bench_encode("text", n_items=0)


def test_the_command_prints_items_per_second(tiny_clip, capsys):
    assert main(["bench", "--kind", "clip", "--encoder", tiny_clip, "--items", "4", "--device", "cpu"]) == 0
    assert "items/s" in capsys.readouterr().out
