"""Write the zip bomb of issue 15 item 6: a small .zip whose one JSON Lines file unpacks to
320 MiB, deflate's best ratio: `--shape records` (the default) repeats one record, `--shape stem`
writes a single record whose stem is 320 MiB of one letter.

    python -m benchmarks.zip_bomb /tmp/bomb.zip [--mib 320] [--shape records|stem]
    /usr/bin/time -v python -m scripts.devstack manage import_items /tmp/bomb.zip

docs/benchmarks.md ("A zip bomb under the size limits") records the peak memory it costs.
"""

from __future__ import annotations

import argparse
import zipfile
from pathlib import Path

CHUNK = b"A" * (1024 * 1024)


RECORD = '{"external_id": "BOMB-1", "subject": "수학", "stem": "발문"}\n'.encode()


def write_bomb(path: Path, mib: int, shape: str = "records") -> int:
    """Write the archive; return its size in bytes."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open("items.jsonl", "w", force_zip64=True) as fh:
            if shape == "stem":
                fh.write(RECORD[: RECORD.index("발문".encode())])
                for _ in range(mib):
                    fh.write(CHUNK)
                fh.write(b'"}\n')
            else:
                block = RECORD * (len(CHUNK) // len(RECORD))
                written = 0
                while written < mib * len(CHUNK):
                    fh.write(block)
                    written += len(block)
    return path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--mib", type=int, default=320)
    parser.add_argument("--shape", choices=["records", "stem"], default="records")
    args = parser.parse_args()
    size = write_bomb(args.path, args.mib, args.shape)
    print(f"{args.path}: {size / 1000:.0f} KB holding {args.mib} MiB")


if __name__ == "__main__":
    main()
