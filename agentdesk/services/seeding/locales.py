"""Per-country name pools and valid phone-number generators for demo customers.

Numbers must be valid for their region (the screen pop and its tests rely
on real normalisation), but validating each of a million numbers with
``phonenumbers`` would take a minute. So each region gets a pool of
*prefixes* that ``phonenumbers`` has confirmed valid, and a number is a
prefix plus random trailing digits: validity in numbering plans depends on
the leading digits, which the tests confirm on a sample.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberType


@dataclass(frozen=True)
class Locale:
    """A country the demo bank serves: names, language, cities, streets."""

    region: str
    language: str
    given_names: tuple[str, ...]
    family_names: tuple[str, ...]
    cities: tuple[str, ...]
    streets: tuple[str, ...]
    weight: int


LOCALES: tuple[Locale, ...] = (
    Locale(
        "GB",
        "en",
        (
            "Oliver",
            "Amelia",
            "Harry",
            "Isla",
            "George",
            "Ava",
            "Noah",
            "Mia",
            "Jack",
            "Grace",
            "Leo",
            "Freya",
            "Arthur",
            "Sophie",
            "Oscar",
            "Evie",
            "Aisha",
            "Priya",
            "Siobhan",
            "Dylan",
        ),
        (
            "Smith",
            "Jones",
            "Taylor",
            "Brown",
            "Williams",
            "Wilson",
            "Johnson",
            "Davies",
            "Patel",
            "Robinson",
            "Wright",
            "Thompson",
            "Evans",
            "Walker",
            "White",
            "Roberts",
            "Green",
            "Hall",
            "Khan",
            "O'Brien",
        ),
        ("London", "Manchester", "Leeds", "Bristol", "Glasgow", "Cardiff", "Belfast", "Leicester"),
        ("High Street", "Station Road", "Church Lane", "Victoria Road", "Mill Lane"),
        50,
    ),
    Locale(
        "US",
        "en",
        (
            "James",
            "Olivia",
            "Liam",
            "Emma",
            "Ethan",
            "Sofia",
            "Lucas",
            "Camila",
            "Mason",
            "Harper",
            "Mateo",
            "Zoe",
        ),
        (
            "Garcia",
            "Miller",
            "Davis",
            "Rodriguez",
            "Martinez",
            "Anderson",
            "Nguyen",
            "Lee",
            "Hernandez",
            "Moore",
            "Clark",
            "Lewis",
        ),
        ("New York", "Chicago", "Houston", "Phoenix", "Seattle", "Boston"),
        ("Main Street", "Oak Avenue", "Maple Drive", "Pine Street"),
        10,
    ),
    Locale(
        "DE",
        "de",
        (
            "Lukas",
            "Mia",
            "Felix",
            "Hannah",
            "Jonas",
            "Lea",
            "Maximilian",
            "Emilia",
            "Jürgen",
            "Käthe",
        ),
        (
            "Müller",
            "Schmidt",
            "Schneider",
            "Fischer",
            "Weber",
            "Meyer",
            "Wagner",
            "Becker",
            "Hoffmann",
            "Schäfer",
        ),
        ("Berlin", "Hamburg", "München", "Köln", "Frankfurt am Main"),
        ("Hauptstraße", "Schulstraße", "Gartenweg", "Bahnhofstraße"),
        10,
    ),
    Locale(
        "FR",
        "fr",
        ("Léa", "Hugo", "Chloé", "Louis", "Manon", "Gabriel", "Inès", "Raphaël", "Zoé", "Théo"),
        (
            "Martin",
            "Bernard",
            "Dubois",
            "Thomas",
            "Robert",
            "Richard",
            "Petit",
            "Durand",
            "Lefèvre",
            "Moreau",
        ),
        ("Paris", "Lyon", "Marseille", "Toulouse", "Nantes"),
        ("Rue de la Paix", "Avenue Victor Hugo", "Rue Pasteur", "Boulevard Voltaire"),
        8,
    ),
    Locale(
        "ES",
        "es",
        ("Lucía", "Hugo", "Martina", "Mateo", "Sofía", "Pablo", "Valentina", "Álvaro"),
        ("García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez", "Pérez"),
        ("Madrid", "Barcelona", "Valencia", "Sevilla"),
        ("Calle Mayor", "Avenida de la Constitución", "Calle del Sol"),
        6,
    ),
    Locale(
        "PL",
        "pl",
        ("Zuzanna", "Antoni", "Julia", "Jan", "Łucja", "Szymon", "Maja", "Wojciech"),
        ("Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kamiński", "Lewandowski", "Zieliński"),
        ("Warszawa", "Kraków", "Łódź", "Wrocław", "Gdańsk"),
        ("ulica Długa", "ulica Polna", "ulica Leśna"),
        6,
    ),
    Locale(
        "IN",
        "en",
        ("Aarav", "Ananya", "Vihaan", "Diya", "Arjun", "Saanvi", "Ishaan", "Kavya"),
        ("Sharma", "Verma", "Gupta", "Iyer", "Reddy", "Nair", "Singh", "Menon"),
        ("Mumbai", "Bengaluru", "Delhi", "Chennai", "Pune"),
        ("MG Road", "Park Street", "Nehru Nagar"),
        6,
    ),
    Locale(
        "IE",
        "en",
        ("Seán", "Aoife", "Conor", "Niamh", "Cian", "Saoirse", "Oisín", "Caoimhe"),
        ("Murphy", "Kelly", "Byrne", "Ryan", "O'Sullivan", "Walsh", "McCarthy", "Ó Briain"),
        ("Dublin", "Cork", "Galway", "Limerick"),
        ("Main Street", "Church Road", "Bridge Street"),
        4,
    ),
)


class PhoneFactory:
    """Generates valid mobile and landline numbers per region, fast and deterministically."""

    def __init__(self, rng: random.Random, prefixes_per_type: int = 60) -> None:
        self._rng = rng
        # Each pool is discovered from its own stream, so pools do not depend on
        # which region happened to be drawn first.
        self._discovery_seed = rng.random()
        self._discovery_rng = rng
        self._pools: dict[tuple[str, int], list[tuple[str, int, int]]] = {}
        self._per_type = prefixes_per_type

    def _pool(self, region: str, kind: int) -> list[tuple[str, int, int]]:
        key = (region, kind)
        if key not in self._pools:
            self._pools[key] = self._discover(region, kind)
        return self._pools[key]

    def _discover(self, region: str, kind: int) -> list[tuple[str, int, int]]:
        self._discovery_rng = random.Random(f"{self._discovery_seed}:{region}:{kind}")
        example = phonenumbers.example_number_for_type(region, kind)
        if example is None:
            raise ValueError(f"no example number for {region}")
        nsn = phonenumbers.national_significant_number(example)
        code = int(example.country_code or 0)
        keep = max(2, len(nsn) - 7)  # vary all but the leading digits, then confirm validity
        tail = len(nsn) - keep - 4
        found: set[str] = set()
        attempts = 0
        while len(found) < self._per_type and attempts < self._per_type * 40:
            attempts += 1
            middle = "".join(self._discovery_rng.choice("0123456789") for _ in range(tail))
            prefix = nsn[:keep] + middle
            candidate = phonenumbers.parse(
                f"+{code}{prefix}{self._discovery_rng.randrange(10_000):04d}"
            )
            check = phonenumbers.parse(
                f"+{code}{prefix}{self._discovery_rng.randrange(10_000):04d}"
            )
            if (
                phonenumbers.number_type(candidate) in (kind, PhoneNumberType.FIXED_LINE_OR_MOBILE)
                and phonenumbers.is_valid_number(candidate)
                and phonenumbers.is_valid_number(check)
            ):
                found.add(prefix)
        if not found:
            found.add(nsn[:-4])
        return [(p, code, 4) for p in sorted(found)]

    def reseed(self, rng: random.Random) -> None:
        """Draw numbers from ``rng`` from now on (the prefix pools stay as discovered)."""
        self._rng = rng

    def heads(self, region: str, mobile: bool) -> list[str]:
        """``+<country code><prefix>`` of every pooled prefix: a number is one plus 4 digits."""
        kind: int = PhoneNumberType.MOBILE if mobile else PhoneNumberType.FIXED_LINE
        return [f"+{code}{prefix}" for prefix, code, _digits in self._pool(region, kind)]

    def number(self, region: str, mobile: bool) -> str:
        """A valid number in E.164."""
        # phonenumbers' type constants are plain ints (PhoneNumberType is a namespace).
        kind: int = PhoneNumberType.MOBILE if mobile else PhoneNumberType.FIXED_LINE
        prefix, code, digits = self._rng.choice(self._pool(region, kind))
        return f"+{code}{prefix}{self._rng.randrange(10**digits):0{digits}d}"

    @staticmethod
    def as_typed(e164: str, style: int) -> str:
        """The number as a customer might have given it: E.164, spaced international or national.

        Built from the region's national prefix rather than by re-parsing, which
        would dominate seeding time.
        """
        form = style % 3
        if form == 0:
            return e164
        code, trunk = _country_info(e164)
        nsn = e164[1 + len(code) :]
        if form == 1:
            return f"+{code} {nsn[:4]} {nsn[4:]}"
        return f"{trunk}{nsn[:4]} {nsn[4:]}"


_COUNTRY_INFO: dict[str, tuple[str, str]] = {}


def _country_info(e164: str) -> tuple[str, str]:
    """(country calling code, national trunk prefix) for an E.164 number, cached by 3-digit head."""
    head = e164[:4]
    if head not in _COUNTRY_INFO:
        parsed = phonenumbers.parse(e164, None)
        region = phonenumbers.region_code_for_number(parsed)
        meta = phonenumbers.PhoneMetadata.metadata_for_region(region) if region else None
        trunk = (meta.national_prefix or "") if meta else ""
        _COUNTRY_INFO[head] = (str(parsed.country_code), trunk)
    return _COUNTRY_INFO[head]
