"""Generate the benchmark CSV: header-less, mixed types, quoted commas and embedded newlines."""

from __future__ import annotations

import argparse
import random
from pathlib import Path

SCHEMA = [
    ("id", "LONG"),
    ("name", "STRING"),
    ("amount", "DOUBLE"),
    ("day", "DATE"),
    ("at", "DATETIME"),
    ("note", "STRING"),
    ("qty", "LONG"),
    ("price", "DECIMAL"),
]

# Part of the name of every cached file written from SCHEMA: a file of another schema is never reused.
SCHEMA_TAG = f"{len(SCHEMA)}c"


def write_csv(path: Path, rows: int, seed: int = 7, start: int = 0) -> int:
    """Write rows start..start+rows-1 to `path` and return the number of bytes written."""
    rnd = random.Random(seed + start)
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
    notes = ["plain", '"with, comma"', '"two\nlines"', '"say ""hi"""', "", "\\N", "ünïcødé"]
    with path.open("w", encoding="utf-8", newline="") as out:
        chunk: list[str] = []
        for i in range(start, start + rows):
            day = f"20{10 + i % 15:02d}-{1 + i % 12:02d}-{1 + i % 28:02d}"
            at = f"{day} {i % 24:02d}:{i % 60:02d}:{(i * 7) % 60:02d}"
            chunk.append(
                f"{i},{rnd.choice(words)}-{i % 977},{rnd.random() * 1000:.6f},{day},{at},"
                f"{notes[i % len(notes)]},{rnd.randint(-500, 500)},{_price(rnd.randint(-(10**7), 10**7))}\n"
            )
            if len(chunk) >= 50_000:
                out.write("".join(chunk))
                chunk.clear()
        out.write("".join(chunk))
    return path.stat().st_size


def _price(cents: int) -> str:
    """A DECIMAL value like `12345.67` or `-0.05`."""
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path", type=Path)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    size = write_csv(args.path, args.rows)
    print(f"wrote {args.rows} rows, {size / 1e6:.1f} MB to {args.path}")


if __name__ == "__main__":
    main()
