"""The product catalogue (``resources/catalogue.toml``), validated strictly when loaded.

A catalogue that cannot be used is refused as a whole with a message naming the
product and the key, so a typo never quietly makes a product orderable by everyone.
Pure: no database, no clock.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentdesk.models import CustomerKind, ProductKind
from agentdesk.paths import resource

SEGMENTS = frozenset({"retail", "premier", "private", "young_saver", "small_business", "corporate"})
_CODE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
_KEYS = frozenset(
    {
        "name",
        "kind",
        "summary",
        "customer_kind",
        "segments",
        "min_age",
        "max_age",
        "holds_none_of",
        "requires_one_of",
        "kyc_verified",
    }
)
MAX_AGE = 130


class CatalogueError(ValueError):
    """A catalogue file that cannot be used; the message names the product and key."""


@dataclass(frozen=True)
class CatalogueProduct:
    """One orderable product and the rules that decide who may have it."""

    code: str
    name: str
    kind: ProductKind
    summary: str
    customer_kind: CustomerKind | None = None
    segments: frozenset[str] = frozenset()  # empty: every segment
    min_age: int | None = None
    max_age: int | None = None
    holds_none_of: frozenset[ProductKind] = frozenset()
    requires_one_of: frozenset[ProductKind] = frozenset()
    kyc_verified: bool = False


@dataclass(frozen=True)
class Catalogue:
    """The products in file order."""

    products: tuple[CatalogueProduct, ...]

    def get(self, code: str) -> CatalogueProduct:
        for product in self.products:
            if product.code == code:
                return product
        raise CatalogueError(f"there is no product {code!r} in the catalogue")

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(p.code for p in self.products)


def _text(table: Mapping[str, Any], key: str, where: str, limit: int) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CatalogueError(f"{where}: {key} must be non-empty text")
    if len(value) > limit or any(not ch.isprintable() for ch in value):
        raise CatalogueError(f"{where}: {key} must be one line of at most {limit} characters")
    return value.strip()


def _kinds(table: Mapping[str, Any], key: str, where: str) -> frozenset[ProductKind]:
    values = table.get(key, [])
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise CatalogueError(f"{where}: {key} must be a list of product kinds")
    try:
        return frozenset(ProductKind(v) for v in values)
    except ValueError:
        bad = next(v for v in values if v not in {k.value for k in ProductKind})
        raise CatalogueError(f"{where}: {key} names an unknown product kind {bad!r}") from None


def _age(table: Mapping[str, Any], key: str, where: str) -> int | None:
    value = table.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_AGE:
        raise CatalogueError(f"{where}: {key} must be a whole number of years from 0 to {MAX_AGE}")
    return value


def _segments(table: Mapping[str, Any], where: str) -> frozenset[str]:
    values = table.get("segments", [])
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise CatalogueError(f"{where}: segments must be a list of segment names")
    unknown = sorted(set(values) - SEGMENTS)
    if unknown:
        raise CatalogueError(f"{where}: unknown segment {unknown[0]!r}")
    return frozenset(values)


def _customer_kind(table: Mapping[str, Any], where: str) -> CustomerKind | None:
    value = table.get("customer_kind")
    if value is None:
        return None
    try:
        return CustomerKind(value)
    except ValueError:
        raise CatalogueError(f"{where}: customer_kind must be person or business") from None


def _product(code: str, table: object) -> CatalogueProduct:
    where = f"products.{code}"
    if not _CODE.match(code):
        raise CatalogueError(f"{where}: a product code is lower-case letters, digits and _")
    if not isinstance(table, dict):
        raise CatalogueError(f"{where}: expected a table")
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise CatalogueError(f"{where}: unknown key {unknown[0]!r}")
    kind = table.get("kind")
    if not isinstance(kind, str) or kind not in {k.value for k in ProductKind}:
        raise CatalogueError(
            f"{where}: kind must be one of {', '.join(k.value for k in ProductKind)}"
        )
    min_age, max_age = _age(table, "min_age", where), _age(table, "max_age", where)
    if min_age is not None and max_age is not None and min_age > max_age:
        raise CatalogueError(f"{where}: min_age is above max_age")
    kyc = table.get("kyc_verified", False)
    if not isinstance(kyc, bool):
        raise CatalogueError(f"{where}: kyc_verified must be true or false")
    customer_kind = _customer_kind(table, where)
    if customer_kind is CustomerKind.BUSINESS and (min_age is not None or max_age is not None):
        raise CatalogueError(f"{where}: a business product has no age limits")
    holds_none = _kinds(table, "holds_none_of", where)
    requires = _kinds(table, "requires_one_of", where)
    if holds_none & requires:
        raise CatalogueError(f"{where}: a kind is both required and excluded")
    return CatalogueProduct(
        code=code,
        name=_text(table, "name", where, 80),
        kind=ProductKind(kind),
        summary=_text(table, "summary", where, 200),
        customer_kind=customer_kind,
        segments=_segments(table, where),
        min_age=min_age,
        max_age=max_age,
        holds_none_of=holds_none,
        requires_one_of=requires,
        kyc_verified=kyc,
    )


def parse_catalogue(data: Mapping[str, Any]) -> Catalogue:
    """Build the catalogue from parsed TOML; :class:`CatalogueError` on anything odd."""
    unknown = sorted(set(data) - {"products"})
    if unknown:
        raise CatalogueError(f"unknown top-level key {unknown[0]!r} (only [products.<code>])")
    raw = data.get("products")
    if not isinstance(raw, dict) or not raw:
        raise CatalogueError("the catalogue defines no [products.<code>]")
    return Catalogue(tuple(_product(code, table) for code, table in raw.items()))


def load_catalogue(path: Path | None = None) -> Catalogue:
    """Load ``path`` or ``resources/catalogue.toml``."""
    path = path or resource("catalogue.toml")
    try:
        return parse_catalogue(tomllib.loads(path.read_text("utf-8")))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CatalogueError(f"cannot read the product catalogue {path}: {exc}") from exc
