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

    @classmethod
    def _bare(cls: type[_C]) -> _C:
        """An instance whose ``__init__`` did not run (``from_parts`` fills it in)."""
        self = cls.__new__(cls)
        nn.Module.__init__(self)
        return self

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
