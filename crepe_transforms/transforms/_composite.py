"""Composites: modules built from named parts, each part owning its options.

``CrepePitch``, ``CrepeStream`` and ``CrepeEmbedding`` are built the same way: keyword options
are routed to the part that declares them (:func:`~crepe_transforms._settings.route`), the
cheap parts are built first so that a bad option fails before any weights are read, and the
network (:class:`CrepeActivation`) comes last. :func:`build_parts` does that once for all of
them (and for ``export_pitch``); :class:`Composite` holds the parts as submodules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

from torch import nn

from .._settings import Configurable, Setting, route
from ..exceptions import ParameterError
from ._activation import CrepeActivation

__all__ = ["Composite", "build_parts"]

_C = TypeVar("_C", bound="Composite")

#: ``(part name, part class)`` in pipeline order.
Parts = Sequence[tuple[str, type[Configurable]]]


def build_parts(
    owner: str,
    options: Mapping[str, Any],
    parts: Parts,
    own: Iterable[Setting] = (),
    check: Callable[[Mapping[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Route ``options`` to ``parts`` and build each part, the network last.

    Args:
        owner: the composite's name, for messages.
        options: every option, the parts' required ones included (``sample_rate``,
            ``capacity``).
        parts: ``(name, class)`` in pipeline order.
        own: the composite's own settings (listed when an option is unknown).
        check: called with the parts built so far before the network is built (and its
            weights read): the composite's checks of how its parts fit together.

    Returns:
        ``{name: part}`` in the order of ``parts``.

    Example:
        >>> from crepe_transforms import CrepeDecode, CrepeFrames
        >>> built = build_parts("Example", {"sample_rate": 8000, "fmin": 50.0},
        ...                     [("frames", CrepeFrames), ("decode", CrepeDecode)])
        >>> built
        {'frames': CrepeFrames(sample_rate=8000), 'decode': CrepeDecode(fmin=50.0)}
    """
    routed = route(owner, options, [(name, kind.SETTINGS) for name, kind in parts], own)
    built: dict[str, Any] = {}
    for name, kind in parts:
        if not issubclass(kind, CrepeActivation):
            built[name] = kind(**routed[name])
    if check is not None:
        check(built)
    return {name: built[name] if name in built else kind(**routed[name]) for name, kind in parts}


class Composite(Configurable, nn.Module):
    """A module whose parts (``PARTS``) own every option but the module's own ``SETTINGS``.

    ``settings()`` is the parts' settings and the module's own, so ``type(m)(**m.settings())``
    rebuilds it.
    """

    PARTS: ClassVar[Parts] = ()
    #: Parts that ``from_parts`` may be given without: built with their own defaults.
    OPTIONAL_PARTS: ClassVar[tuple[str, ...]] = ()
    #: Checks and keeps this module's own settings, one keyword per ``SETTINGS`` entry
    #: (each composite defines it; ``__init__`` and :meth:`from_parts` both call it).
    _configure: Callable[..., None]

    @classmethod
    def _bare(cls: type[_C]) -> _C:
        """An instance whose ``__init__`` did not run (``from_parts`` fills it in)."""
        self = cls.__new__(cls)
        nn.Module.__init__(self)
        return self

    @classmethod
    def from_parts(cls: type[_C], *parts: nn.Module, **settings: Any) -> _C:
        """A module of parts you built, in pipeline order; they are used, not copied.

        Args:
            *parts: the parts in the order of ``PARTS`` (``frames``, ``activation``, then
                ``decode`` where there is one). A trailing part of ``OPTIONAL_PARTS``
                (``decode``) may be left out: it is built with its defaults.
            **settings: this module's own settings (``voicing``, ``block_frames``, …), as in
                its constructor; the parts' options are already in the parts.

        Example:
            >>> from crepe_transforms import CrepeActivation, CrepeFrames, CrepePitch
            >>> pitch = CrepePitch.from_parts(
            ...     CrepeFrames(22050), CrepeActivation("tiny", pretrained=False), voicing=0.5
            ... )
            >>> pitch.decode, pitch.voicing
            (CrepeDecode(), 0.5)
        """
        names = [name for name, _ in cls.PARTS]
        if len(parts) > len(names):
            raise ParameterError(
                f"{cls.__name__}.from_parts takes at most {len(names)} parts "
                f"({', '.join(names)}), got {len(parts)}."
            )
        given: dict[str, Any] = dict(zip(names, parts, strict=False))
        for name, kind in cls.PARTS[len(parts) :]:
            if name not in cls.OPTIONAL_PARTS:
                raise ParameterError(
                    f"{cls.__name__}.from_parts needs its {name} part (a {kind.__name__}); "
                    f"pass the parts in order: {', '.join(names)}."
                )
            given[name] = kind()
        own = {s.name: s.default for s in cls.SETTINGS}
        unknown = sorted(set(settings) - set(own))
        if unknown:
            raise ParameterError(
                f"{cls.__name__}.from_parts got unknown setting(s) {', '.join(unknown)}; its own "
                f"settings are {', '.join(own)} (the parts' options belong in the parts)."
            )
        self = cls._bare()
        self._configure(**{**own, **settings})
        self._use_parts(given)
        self._ready()
        return self

    def _ready(self) -> None:
        """Called once the parts are attached (e.g. to check that they fit together)."""

    def _build_parts(
        self,
        options: Mapping[str, Any],
        check: Callable[[Mapping[str, Any]], None] | None = None,
    ) -> None:
        """Build the parts from ``options`` (:func:`build_parts`) and attach them."""
        self._use_parts(build_parts(type(self).__name__, options, self.PARTS, self.SETTINGS, check))

    def _use_parts(self, parts: Mapping[str, Any]) -> None:
        """Attach built parts as submodules, in pipeline order, checking their types."""
        for name, kind in self.PARTS:
            part = parts[name]
            if not isinstance(part, kind):
                raise ParameterError(
                    f"{name} must be a {kind.__name__}, got {type(part).__name__}."
                )
        for name, _ in self.PARTS:
            setattr(self, name, parts[name])

    def settings(self) -> dict[str, Any]:
        """Every setting of the parts and of this module; ``type(self)(**settings)`` rebuilds
        it."""
        out: dict[str, Any] = {}
        for name, _ in self.PARTS:
            out.update(getattr(self, name).settings())
        return {**out, **super().settings()}
