#!/usr/bin/env python3
"""Rebuilds pride_and_prejudice.txt from Debian's r-cran-janeaustenr package.

The package (Jane Austen's six novels as R data, from Project Gutenberg's
texts) keeps each novel as a character vector in an R lazy-load database
(data/Rdata.rdb, indexed by data/Rdata.rdx). This script reads that
database without R: the index is a gzip'd R serialization, each entry a
4-byte length plus zlib data holding another serialization (XDR format).
It then joins the lines of "Pride and Prejudice" (1813) into paragraphs,
drops the chapter headings and the italics marks (_word_), splits the
paragraphs into sentences and writes --sentences sentences of at least
--min-words words, one a line, after skipping the first --skip of them
(--skip 320 gives the calibration text, held out from the evaluation's
first 320).

  apt-get download r-cran-janeaustenr && dpkg -x r-cran-janeaustenr_*.deb pkg
  python3 explore/data/make_text.py pkg/usr/lib/R/site-library/janeaustenr \
      -o explore/data/pride_and_prejudice.txt
  python3 explore/data/make_text.py pkg/usr/lib/R/site-library/janeaustenr \
      --skip 320 -o explore/data/pride_and_prejudice_calib.txt

Deterministic: the same package version gives the same file.
"""
import argparse
import gzip
import re
import struct
import sys
import zlib
from pathlib import Path


class _Unserializer:
    """The subset of R's XDR serialization that the package's data uses."""

    def __init__(self, data):
        if data[:2] != b"X\n":
            raise ValueError(f"expected an R XDR serialization ('X\\n'), found {data[:2]!r}")
        self.data, self.pos = data, 2
        version = self._int()
        self._int(), self._int()  # writer and minimal reader versions
        if version == 3:
            n = self._int()  # native encoding name
            self.pos += n
        self.refs = []

    def _int(self):
        (v,) = struct.unpack_from(">i", self.data, self.pos)
        self.pos += 4
        return v

    def item(self):
        flags = self._int()
        kind, has_attr, has_tag = flags & 0xFF, flags & (1 << 9), flags & (1 << 10)
        if kind in (242, 251, 253, 254):  # empty env, missing arg, global env, NULL
            return None
        if kind == 255:  # reference to an earlier symbol
            return self.refs[(flags >> 8) - 1]
        if kind == 1:  # symbol
            name = self.item()
            self.refs.append(name)
            return name
        if kind == 9:  # CHARSXP
            n = self._int()
            if n == -1:
                return None
            s = self.data[self.pos:self.pos + n].decode("utf-8")
            self.pos += n
            return s
        if kind == 2:  # pairlist: (tag, value) pairs
            out = {}
            while True:
                attr = self.item() if has_attr else None
                tag = self.item() if has_tag else None
                out[tag] = self.item()
                flags = self._int()
                kind, has_attr, has_tag = flags & 0xFF, flags & (1 << 9), flags & (1 << 10)
                if kind != 2:
                    self.pos -= 4
                    self.item()
                    return out
        if kind in (10, 13, 14, 16, 19):  # logical, integer, double, character, list
            n = self._int()
            if kind == 14:
                vals = list(struct.unpack_from(f">{n}d", self.data, self.pos))
                self.pos += 8 * n
            elif kind in (10, 13):
                vals = list(struct.unpack_from(f">{n}i", self.data, self.pos))
                self.pos += 4 * n
            else:
                vals = [self.item() for _ in range(n)]
            attrs = self.item() if has_attr else None
            if attrs and "names" in attrs:
                return dict(zip(attrs["names"], vals))
            return vals
        raise ValueError(f"unsupported R object type {kind} at byte {self.pos}")


def read_novel(package_dir, name):
    data_dir = Path(package_dir) / "data"
    index = _Unserializer(gzip.decompress((data_dir / "Rdata.rdx").read_bytes())).item()
    if name not in index["variables"]:
        raise SystemExit(f"make_text: no '{name}' in {data_dir}/Rdata.rdx; "
                         f"found {sorted(index['variables'])}")
    offset, length = index["variables"][name]
    blob = (data_dir / "Rdata.rdb").read_bytes()[offset:offset + length]
    return _Unserializer(zlib.decompress(blob[4:])).item()


_ABBREVIATIONS = ("Mr.", "Mrs.", "Dr.", "St.", "Esq.")


def sentences(lines):
    paragraphs, current = [], []
    for line in lines + [""]:
        line = line.strip()
        if line:
            current.append(line)
        elif current:
            paragraphs.append(" ".join(current))
            current = []
    for para in paragraphs:
        if re.fullmatch(r"(Chapter \d+|PRIDE AND PREJUDICE|By Jane Austen)", para):
            continue
        para = re.sub(r"_([^_]*)_", r"\1", para)
        start = 0
        for m in re.finditer(r"[.!?][\"']?\s+(?=[\"']?[A-Z])", para):
            head = para[start:m.end()].strip()
            if head.split()[-1] in _ABBREVIATIONS:
                continue
            yield head
            start = m.end()
        tail = para[start:].strip()
        if tail:
            yield tail


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("package_dir", help="the installed janeaustenr R package directory")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--sentences", type=int, default=320)
    ap.add_argument("--min-words", type=int, default=5)
    ap.add_argument("--skip", type=int, default=0,
                    help="leave out the first N qualifying sentences (320: the calibration "
                         "text, held out from the evaluation text)")
    args = ap.parse_args(argv)
    if args.sentences < 1 or args.skip < 0 or args.min_words < 1:
        sys.exit(f"make_text: expected --sentences >= 1, --skip >= 0 and --min-words >= 1, "
                 f"found {args.sentences}, {args.skip} and {args.min_words}")
    lines = read_novel(args.package_dir, "prideprejudice")
    qualifying = [s for s in sentences(lines) if len(s.split()) >= args.min_words]
    kept = qualifying[args.skip:args.skip + args.sentences]
    if len(kept) < args.sentences:
        sys.exit(f"make_text: expected {args.sentences} sentences after skipping {args.skip}, "
                 f"found {len(kept)} (the novel has {len(qualifying)} of at least "
                 f"{args.min_words} words)")
    Path(args.output).write_text("\n".join(kept) + "\n", encoding="utf-8")
    print(f"make_text: wrote {len(kept)} sentences to {args.output}")


if __name__ == "__main__":
    main()
