"""Open a source file as the user named it: one file, readable, as UTF-8 text.

- :func:`check_readable`: a located one-line error for a missing path, a directory or a file
  that cannot be opened, instead of a traceback.
- :func:`literal_path`: DuckDB expands glob characters in the paths it reads (``tx[1].csv``
  reads ``tx1.csv``); a name holding them is read through a symlink with a plain name.
- :func:`text_as_utf8`: text that is not UTF-8 (``encoding`` given, or detected: GB18030/GBK
  from Chinese systems, UTF-16 with a BOM; text that also reads as Big5 is refused with the
  choice) is decoded once into a UTF-8 copy; a byte that does not decode is reported with its
  line.  Line ends are left to the reader (CRLF, LF and both).
"""

from __future__ import annotations

import codecs
import gzip
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from clvlab.errors import DataValidationError, Hint, ParameterError

SNIFF_BYTES = 64 * 1024
_CHUNK = 1 << 20
_GLOB = re.compile(r"[*?\[\]{}]")
_UTF8 = {"utf-8", "utf8", "utf_8", "utf-8-sig", "utf_8_sig", "u8"}
_ENCODING_HINT = Hint("GBK; or another: big5, cp1252, latin-1, utf-16", option="encoding", value="gb18030")


def check_readable(path: Path) -> None:
    """Raise a one-line :class:`DataValidationError` unless ``path`` is a file we can open."""
    if not path.exists():
        msg = f"source file '{path}' does not exist"
        raise DataValidationError(msg, hint="check the path (relative paths start at the cwd)")
    if path.is_dir():
        msg = f"source '{path}' is a directory, not a file"
        raise DataValidationError(msg, hint="name one file in it (--glob 'DIR/*.csv' for several)")
    try:
        with path.open("rb") as fh:
            fh.read(1)
    except OSError as exc:
        msg = f"cannot open source file '{path}': {exc.strerror or type(exc).__name__}"
        raise DataValidationError(msg, hint="check the file's permissions") from exc


def _opener(path: Path) -> Any:
    return gzip.open if path.name.lower().endswith(".gz") else open


def _norm(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        msg = (f"The 'encoding' parameter of load must be a text encoding Python knows, such as "
               f"'utf-8', 'gb18030' or 'cp1252'. Got {encoding!r} instead.")
        raise ParameterError(msg) from None


def detect_encoding(path: Path) -> str:
    """``utf-8`` (with or without BOM), ``utf-16`` (with a BOM) or ``gb18030`` (GBK's superset),
    judged on the first 64 KiB; anything else raises, naming the first undecodable byte, and
    so does text that reads as Big5 too (the user chooses)."""
    with _opener(path)(path, "rb") as fh:
        raw: bytes = fh.read(SNIFF_BYTES)
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(raw, final=len(raw) < SNIFF_BYTES)
        return "utf-8"
    except UnicodeDecodeError as exc:
        err = exc
    try:
        text = codecs.getincrementaldecoder("gb18030")().decode(raw, final=len(raw) < SNIFF_BYTES)
    except UnicodeDecodeError:
        text = ""
    wide = [c for c in text if ord(c) > 127]
    cjk = sum(unicodedata.east_asian_width(c) in ("W", "F") for c in wide)
    if wide and cjk >= 0.9 * len(wide):
        if _gb2312_only(raw):  # Big5 text puts bytes below 0xA1 in second place: not this
            return "gb18030"
        try:  # Big5 (Traditional Chinese) bytes also decode as GB18030, into other characters
            codecs.getincrementaldecoder("big5")().decode(raw, final=len(raw) < SNIFF_BYTES)
        except UnicodeDecodeError:
            return "gb18030"
        msg = (f"'{path.name}' is not UTF-8 text and reads both as GB18030/GBK (Simplified "
               "Chinese) and as Big5 (Traditional Chinese)")
        raise DataValidationError(msg, hint=[Hint(option="encoding", value="gb18030"),
                                             Hint(option="encoding", value="big5")])
    line = raw[: err.start].count(b"\n") + 1
    msg = (f"'{path.name}' is not UTF-8 text: byte 0x{raw[err.start]:02X} on line {line} does "
           "not decode, and the file does not read as GB18030/GBK either")
    raise DataValidationError(msg, hint=_ENCODING_HINT)


def _gb2312_only(raw: bytes) -> bool:
    """True when every non-ASCII byte pair lies in the GB2312 area (both bytes 0xA1-0xFE)."""
    i, n = 0, len(raw)
    while i < n:
        if raw[i] < 0x80:
            i += 1
            continue
        if i + 1 < n and not (raw[i] >= 0xA1 and raw[i + 1] >= 0xA1):
            return False
        i += 2
    return True


@contextmanager
def literal_path(path: Path) -> Iterator[Path]:
    """``path``, or a symlink to it with a plain name when its name holds glob characters."""
    if not _GLOB.search(str(path)):
        yield path
        return
    folder = Path(tempfile.mkdtemp(prefix="clvlab-src-"))
    try:
        link = folder / ("source" + "".join(x for x in path.suffixes[-2:] if not _GLOB.search(x)))
        link.symlink_to(path.resolve())
        yield link
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def text_as_utf8(path: Path, encoding: str | None, *, lf: bool = False) -> Iterator[Path]:
    """A path DuckDB reads literally holding ``path``'s text as UTF-8 (see the module doc);
    with ``lf`` every CRLF becomes LF (for files that mix both, which DuckDB refuses)."""
    enc = _norm(encoding) if encoding else detect_encoding(path)
    if not lf and (enc in _UTF8 or _norm(enc) in _UTF8):
        with literal_path(path) as readable:
            yield readable
        return
    folder = Path(tempfile.mkdtemp(prefix="clvlab-src-"))
    try:
        copy = folder / "source.txt"
        _transcode(path, copy, enc, lf=lf)
        yield copy
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def mixes_line_ends(path: Path) -> bool:
    """True when ``path`` has both CRLF and bare LF line ends."""
    crlf = bare = False
    last = b""
    with _opener(path)(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            data = last + chunk
            n_lf, n_crlf = data.count(b"\n"), data.count(b"\r\n")
            crlf, bare = crlf or n_crlf > 0, bare or n_lf > n_crlf
            if crlf and bare:
                return True
            last = data[-1:] if data.endswith(b"\r") else b""
    return False


def utf8_problem(path: Path, name: str) -> DataValidationError | None:
    """The located error for the first byte of ``path`` that is not UTF-8, if any."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with _opener(path)(path, "rb") as fh:
        while True:
            chunk: bytes = fh.read(_CHUNK)
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                at = line + exc.object[: exc.start].count(b"\n")
                msg = (f"'{name}' is not UTF-8 text: byte 0x{exc.object[exc.start]:02X} on line "
                       f"{at} does not decode")
                return DataValidationError(msg, hint=_ENCODING_HINT)
            if not chunk:
                return None
            line += chunk.count(b"\n")


def _transcode(src: Path, dst: Path, encoding: str, *, lf: bool) -> None:
    decoder = codecs.getincrementaldecoder(encoding)()
    line = 1
    held = ""
    with _opener(src)(src, "rb") as fin, dst.open("w", encoding="utf-8", newline="") as fout:
        while True:
            chunk: bytes = fin.read(_CHUNK)
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                at = line + exc.object[: exc.start].count(b"\n")
                msg = (f"'{src.name}' does not decode as {encoding}: byte "
                       f"0x{exc.object[exc.start]:02X} on line {at}")
                raise DataValidationError(msg, hint=_ENCODING_HINT) from exc
            text = held + (text.lstrip("\ufeff") if line == 1 else text)
            held = ""
            if lf:
                if text.endswith("\r") and chunk:
                    text, held = text[:-1], "\r"
                text = text.replace("\r\n", "\n")
            fout.write(text)
            line += chunk.count(b"\n")
            if not chunk:
                break
