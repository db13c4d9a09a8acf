"""One description of each module's settings (crepe_transforms/_settings.py).

Each ``SETTINGS`` tuple must match its class's ``__init__`` signature, ``settings()`` must
rebuild an equal module, composites must route options to their parts and refuse unknown ones,
and no two parts of a composite may declare the same option.
"""

from __future__ import annotations

import inspect
import json

import pytest
import torch

from crepe_transforms import (
    CrepeActivation,
    CrepeConditioner,
    CrepeDecode,
    CrepeEmbedding,
    CrepeFrames,
    CrepeLoudness,
    CrepePitch,
    CrepeSoftDecode,
    CrepeStream,
    ParameterError,
)
from crepe_transforms._settings import REQUIRED, Setting, describe, plain, route
from crepe_transforms.transforms._pitch import PITCH_PARTS

SIMPLE = [CrepeFrames, CrepeActivation, CrepeDecode, CrepeSoftDecode, CrepeLoudness]
COMPOSITES = [CrepePitch, CrepeEmbedding, CrepeConditioner, CrepeStream]


@pytest.mark.parametrize("cls", SIMPLE)
def test_settings_match_the_signature(cls: type) -> None:
    params = [p for p in inspect.signature(cls.__init__).parameters.values() if p.name != "self"]
    assert [p.name for p in params] == [s.name for s in cls.SETTINGS]
    for param, setting in zip(params, cls.SETTINGS, strict=True):
        expected = REQUIRED if param.default is inspect.Parameter.empty else param.default
        assert setting.default == expected or (setting.default is expected), setting.name


@pytest.mark.parametrize("cls", COMPOSITES)
def test_composites_declare_only_their_own_options(cls: type) -> None:
    params = inspect.signature(cls.__init__).parameters
    own = {s.name for s in cls.SETTINGS}
    named = {n for n, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    assert named == own
    assert any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def test_no_option_is_declared_by_two_parts() -> None:
    names = [s.name for _, part in PITCH_PARTS for s in part.SETTINGS]
    names += [s.name for s in CrepePitch.SETTINGS]
    assert len(names) == len(set(names))


def _rebuild(module: torch.nn.Module) -> torch.nn.Module:
    return type(module)(**module.settings())  # type: ignore[operator]


@pytest.mark.parametrize(
    "module",
    [
        CrepeFrames(22050, hop_length=256, normalization="torchcrepe"),
        CrepeDecode("weighted_argmax", fmin=50.0, fmax=900.0),
        CrepeDecode(hmm="crepe"),
        CrepeSoftDecode(fmin=60.0, temperature=0.3),
        CrepeLoudness(44100, 512, floor_db=-90.0),
    ],
    ids=repr,
)
def test_settings_rebuild_an_equal_module(module: torch.nn.Module) -> None:
    again = _rebuild(module)
    assert again.settings() == module.settings()  # type: ignore[operator]
    assert repr(again) == repr(module)


def test_composite_settings_rebuild_an_equal_pitch() -> None:
    pitch = CrepePitch(
        44100,
        "tiny",
        pretrained=False,
        hop_length=256,
        decoder="argmax",
        fmin=60.0,
        voicing=0.3,
        precision="bfloat16",
    )
    again = CrepePitch(**pitch.settings())
    assert again.settings() == pitch.settings()
    assert again.activation.precision == "bf16"
    assert again.frames.hop_length == 256
    assert again.decode.fmin == 60.0
    json.dumps({k: plain(v) for k, v in pitch.settings().items()})  # JSON-able for cache keys


def test_options_reach_the_part_that_owns_them() -> None:
    pitch = CrepePitch(16000, "tiny", pretrained=False, hop_length=64, decoder="argmax", fmax=800)
    assert pitch.frames.hop_length == 64
    assert pitch.decode.decoder == "argmax"
    assert pitch.decode.fmax == 800.0
    assert not pitch.activation.pretrained


def test_unknown_options_are_refused_with_the_closest_name() -> None:
    with pytest.raises(ParameterError, match=r"no option 'hop_lenght'.*Did you mean 'hop_length'"):
        CrepePitch(16000, "tiny", pretrained=False, hop_lenght=64)
    # 0.1's name: the new one, not a guess (issue 22 item 12)
    with pytest.raises(ParameterError, match=r"no option 'hop'\. It was renamed to 'hop_length'"):
        CrepePitch(16000, "tiny", pretrained=False, hop=64)
    with pytest.raises(ParameterError, match=r"CrepeEmbedding has no option 'decoder'"):
        CrepeEmbedding(16000, "tiny", pretrained=False, decoder="argmax")


def test_from_parts_uses_the_parts_given() -> None:
    frames, activation = CrepeFrames(8000), CrepeActivation("tiny", pretrained=False)
    decode = CrepeDecode("weighted_argmax")
    pitch = CrepePitch.from_parts(frames, activation, decode, voicing=0.5)
    assert pitch.frames is frames
    assert pitch.activation is activation
    assert pitch.decode is decode
    with pytest.raises(ParameterError, match="decode must be a CrepeDecode"):
        CrepePitch.from_parts(frames, activation, frames)  # type: ignore[arg-type]


def test_from_parts_refuses_what_it_cannot_place() -> None:
    frames, activation = CrepeFrames(8000), CrepeActivation("tiny", pretrained=False)
    with pytest.raises(ParameterError, match=r"at most 3 parts \(frames, activation, decode\)"):
        CrepePitch.from_parts(frames, activation, CrepeDecode(), CrepeDecode())
    with pytest.raises(ParameterError, match="needs its activation part"):
        CrepePitch.from_parts(frames)
    with pytest.raises(ParameterError, match=r"unknown setting\(s\) fmin.*voicing, block_frames"):
        CrepePitch.from_parts(frames, activation, fmin=50.0)
    with pytest.raises(ParameterError, match="block_frames"):
        CrepeEmbedding.from_parts(frames, activation, block_frames=0)
    # A left-out decoder is the default one; the module's own settings are checked as in __init__.
    pitch = CrepePitch.from_parts(frames, activation, block_frames=7)
    assert pitch.decode.settings() == CrepeDecode().settings()
    assert pitch.block_frames == 7


def test_extra_repr_shows_only_what_differs() -> None:
    assert CrepeFrames(16000).extra_repr() == "sample_rate=16000"
    assert CrepeFrames(16000, hop_length=160).extra_repr() == "sample_rate=16000"
    assert CrepeDecode().extra_repr() == ""
    assert CrepeDecode(hmm="crepe").extra_repr() == "hmm='crepe'"


def test_route_and_describe_directly() -> None:
    parts = [("a", (Setting("x", 1, "x"),)), ("b", (Setting("y", 2, "y"),))]
    assert route("Thing", {"y": 3}, parts) == {"a": {}, "b": {"y": 3}}
    with pytest.raises(ParameterError, match="Thing has no option 'z'"):
        route("Thing", {"z": 1}, parts)
    settings = (Setting("rate", REQUIRED, "r"), Setting("x", 1, "x"))
    assert describe(settings, {"rate": 8000, "x": 1}) == "rate=8000"
    assert describe(settings, {"rate": 8000, "x": 2}) == "rate=8000, x=2"
