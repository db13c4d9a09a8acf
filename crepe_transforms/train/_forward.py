"""``Forward``: a read-only attribute that reads a part's attribute, in one typed line."""

from __future__ import annotations

from typing import Any, Generic, NoReturn, TypeVar, cast, overload

__all__ = ["Forward"]

T = TypeVar("T")


class Forward(Generic[T]):
    """A read-only attribute read from a part: ``obj.name`` reads ``obj.<path>``.

    Stands for a property that only returns another object's attribute.

    Args:
        path: dotted attribute path from the owner's instance, e.g.
            ``"pitch.frames.sample_rate"``.

    Example:
        >>> class Part:
        ...     rate = 16000
        >>> class Whole:
        ...     part = Part()
        ...     sample_rate = Forward[int]("part.rate")
        >>> Whole().sample_rate
        16000
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._names = tuple(path.split("."))
        self._name = path

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = f"{owner.__name__}.{name}"

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Forward[T]: ...

    @overload
    def __get__(self, obj: object, owner: type | None = None) -> T: ...

    def __get__(self, obj: object | None, owner: type | None = None) -> Forward[T] | T:
        if obj is None:
            return self
        value: Any = obj
        for name in self._names:
            value = getattr(value, name)
        return cast(T, value)

    def __set__(self, obj: object, value: object) -> NoReturn:
        raise AttributeError(f"{self._name} is read-only: it reads {self.path}")

    def __repr__(self) -> str:
        return f"Forward({self.path!r})"
