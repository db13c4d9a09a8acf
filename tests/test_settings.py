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


def test_route_refuses_an_option_two_parts_declare() -> None:
    # issue 20: route promised this but handed the option to the first part that declared it
    shared = Setting("hop_length", None, "hop")
    parts = [("frames", (shared,)), ("loudness", (shared, Setting("floor_db", -120.0, "f")))]
    with pytest.raises(
        ParameterError,
        match=r"Thing cannot route hop_length=\.\.\.: its parts frames and loudness both declare "
        r"'hop_length'.*Thing\.from_parts",
    ):
        route("Thing", {"hop_length": 64}, parts)
    # an option only one part declares still goes there
    assert route("Thing", {"floor_db": -90.0}, parts) == {
        "frames": {},
        "loudness": {"floor_db": -90.0},
    }


def test_a_derived_default_is_declared_by_its_setting() -> None:
    # issue 20: describe() knew one derived default, hard-coded (hop_length); now any setting
    # may say what its default stands for
    window = Setting("window", None, "w", derive=lambda values: 2 * values["hop"])
    settings = (Setting("hop", 10, "h"), window)
    assert describe(settings, {"hop": 10, "window": 20}) == ""
    assert describe(settings, {"hop": 10, "window": 30}) == "window=30"
    assert describe((window,), {"window": 20}) == "window=20"  # nothing to derive it from
    assert CrepeLoudness(22050, 220).extra_repr() == "sample_rate=22050"


def test_an_owner_overrides_a_shared_settings_help() -> None:
    voicing = CrepePitch.SETTINGS[0]
    mine = voicing.with_help("voicing of a stream")
    assert (mine.help, mine.name, mine.parse, mine.default) == (
        "voicing of a stream",
        voicing.name,
        voicing.parse,
        voicing.default,
    )
    assert voicing.help != mine.help  # the shared one is unchanged


def _tables() -> dict[str, list[Setting]]:
    """Every settings table a module or the extractor declares, by owner."""
    from crepe_transforms.io._extract import PARTS, Extractor
    from crepe_transforms.train._collate import CrepeCollate

    tables: dict[str, list[Setting]] = {
        cls.__name__: list(cls.SETTINGS) for cls in [*SIMPLE, *COMPOSITES, CrepeCollate]
    }
    tables["Extractor"] = [*Extractor.SETTINGS, *(s for _, part in PARTS for s in part)]
    return tables


def test_whether_a_setting_changes_the_numbers_is_declared_once() -> None:
    # a name declared in several tables (hop_length, voicing, block_frames …) gives one answer
    answers: dict[str, set[bool]] = {}
    for table in _tables().values():
        for setting in table:
            answers.setdefault(setting.name, set()).add(setting.affects_output)
    assert {name: a for name, a in answers.items() if len(a) > 1} == {}


def test_the_neutral_settings_lists_cannot_disagree() -> None:
    # issue 20: NEUTRAL_SETTINGS (file outputs) and NOT_IN_CONFIG (feature cache) were two
    # hand-written lists; the cache left out where the weights were found, the files did not
    from crepe_transforms.io._extract import NEUTRAL_SETTINGS, Extractor
    from crepe_transforms.train._conditioner import NOT_IN_CONFIG

    files = set(Extractor("tiny", pretrained=False).settings())
    cache = set(CrepeConditioner(16000, "tiny", pretrained=False).settings())
    shared = files & cache
    assert {"weights", "sha256", "pretrained", "chunk_size", "fmin"} <= shared
    assert set(NEUTRAL_SETTINGS) & shared == set(NOT_IN_CONFIG) & shared
    assert {"weights", "chunk_size", "block_frames", "backend"} <= set(NOT_IN_CONFIG)
    assert not {"fmin", "decoder", "capacity", "precision", "voicing"} & set(NEUTRAL_SETTINGS)
    # both are read from the tables: a setting's flag decides
    tables = _tables()
    assert set(NEUTRAL_SETTINGS) == {s.name for s in tables["Extractor"] if not s.affects_output}


def test_the_streams_voicing_help_is_a_streams() -> None:
    # issue 20: the stream shared the pitch's help ("auto … recommended for speech"), silent on
    # the latency auto costs a stream
    stream, pitch = CrepeStream.SETTINGS[0], CrepePitch.SETTINGS[0]
    assert (stream.name, stream.parse, stream.default) == (pitch.name, pitch.parse, pitch.default)
    assert "lookahead" in stream.help
    assert "held back" in stream.help
    assert "recommended" not in stream.help


def test_every_composite_takes_built_parts_by_one_name_and_the_old_names_warn() -> None:
    # issue 20: four names for one idea (from_parts, from_pitch, from_conditioner,
    # from_transforms); the old three stay for a while as warning aliases
    from crepe_transforms import CrepeCollate
    from crepe_transforms.io import Extractor

    pitch = CrepePitch(16000, "tiny", pretrained=False, hop_length=64)
    conditioner = CrepeConditioner.from_parts(pitch, floor_db=-90.0)
    collate = CrepeCollate.from_parts(conditioner, features="none")
    extractor = Extractor.from_parts(pitch.activation, pitch.decode, hop_length="4ms")
    assert (conditioner.pitch, collate.hop_length, extractor.activation) == (
        pitch,
        64,
        pitch.activation,
    )
    with pytest.warns(
        DeprecationWarning,
        match=r"CrepeConditioner\.from_pitch is deprecated .*"
        r"use CrepeConditioner\.from_parts",
    ):
        old = CrepeConditioner.from_pitch(pitch, floor_db=-90.0)
    assert old.settings() == conditioner.settings()
    with pytest.warns(DeprecationWarning, match=r"CrepeCollate\.from_conditioner is deprecated"):
        assert CrepeCollate.from_conditioner(conditioner, features="none").settings() == (
            collate.settings()
        )
    with pytest.warns(DeprecationWarning, match=r"Extractor\.from_transforms is deprecated"):
        again = Extractor.from_transforms(pitch.activation, pitch.decode, hop_length="4ms")
    assert again.settings() == extractor.settings()
