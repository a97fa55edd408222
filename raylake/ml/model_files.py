"""What an uploaded model file is, told from its bytes (never its name), and which skops types it may hold.

Nothing here unpickles, imports or runs what a file names: a pickle is recognised by its opcodes
(``pickletools.genops`` parses them without executing any), a joblib file by decompressing a few bytes
and finding a pickle inside, a skops file by its zip directory, ONNX by parsing the protobuf.
"""

from __future__ import annotations

import bz2
import gzip
import importlib
import io
import lzma
import pickletools
import zipfile
import zlib
from pathlib import Path
from typing import Protocol

import numpy as np

from raylake.core.vocabulary import ModelFormat
from raylake.ml.algorithms import SKOPS_ALLOWED

# Enough of a decompressed stream to see a pickle's first opcodes; bz2 emits nothing before a whole
# block (up to 900 kB of output), so its input is read in slices up to this many bytes.
_PEEK = 64
_COMPRESSED_READ = 4 << 20
# Protocol 0/1 pickles are parsed opcode by opcode; past this many bytes a clean parse of the prefix
# that imported something is taken as proof (a large one holds arrays; parsing all is seconds).
_TEXT_PICKLE_READ = 4 << 20
_ZIP = b"PK\x03\x04"
_GZIP = b"\x1f\x8b"
_BZ2 = b"BZh"
_XZ = b"\xfd7zXZ\x00"
_LZMA_ALONE = b"]\x00\x00"
_LZ4_FRAME = b"\x04\x22\x4d\x18"
_JOBLIB_LEGACY = b"ZF"  # joblib < 0.10: "ZF", the length in hex padded to 19 bytes, then zlib data
_JOBLIB_LEGACY_HEADER = 2 + 19
_IMPORTS = frozenset({"GLOBAL", "STACK_GLOBAL", "INST"})


class ModelRefused(ValueError):
    """A model file raylake will not load; the message says why and what to upload instead."""


def detect_format(path: Path) -> ModelFormat:
    """The model file's format from its first bytes (and, for zips and protobuf, its structure)."""
    with open(path, "rb") as handle:
        head = handle.read(_PEEK)
    if _is_binary_pickle(head):
        return ModelFormat.PICKLE
    if head.startswith(_ZIP):
        return _zip_format(path)
    if _lightgbm_text(head):
        return ModelFormat.LIGHTGBM
    decompressed = _decompressed_head(path, head)
    if decompressed is not None:
        return ModelFormat.PICKLE if _is_pickle_start(decompressed) else ModelFormat.UNKNOWN
    if _is_onnx(path):
        return ModelFormat.ONNX
    if _is_text_pickle(path):
        return ModelFormat.PICKLE
    return ModelFormat.UNKNOWN


def _is_binary_pickle(head: bytes) -> bool:
    """Protocol 2-5: the PROTO opcode and its version."""
    return len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5


def _is_pickle_start(head: bytes) -> bool:
    """A stream's first bytes: a binary pickle, or a prefix that parses as protocol 0/1 opcodes."""
    return _is_binary_pickle(head) or _text_pickle_prefix(head, complete=False)


def _zip_format(path: Path) -> ModelFormat:
    """A skops file holds ``schema.json``; a zip holding ``.pkl`` members (torch, some exporters) is a
    pickle in a box."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return ModelFormat.UNKNOWN
    if "schema.json" in names:
        return ModelFormat.SKOPS
    if any(name.endswith((".pkl", ".pickle")) for name in names):
        return ModelFormat.PICKLE
    return ModelFormat.UNKNOWN


def _lightgbm_text(head: bytes) -> bool:
    """``Booster.save_model``'s text starts ``tree`` then ``version=v<n>``."""
    lines = head.replace(b"\r\n", b"\n").split(b"\n")
    return len(lines) > 1 and lines[0] == b"tree" and lines[1].startswith(b"version=v")


def _decompressed_head(path: Path, head: bytes) -> bytes | None:
    """The first bytes of a compressed stream (gzip, zlib, bz2, xz, lzma, lz4: what joblib writes);
    None when the file is not one. Undecodable data decompresses to ``b""``."""
    try:
        if head.startswith(_GZIP):
            with gzip.open(path, "rb") as stream:
                return stream.read(_PEEK)
        if head.startswith(_XZ):
            return _stream_head(path, lzma.LZMADecompressor(format=lzma.FORMAT_XZ))
        if head.startswith(_LZMA_ALONE):
            return _stream_head(path, lzma.LZMADecompressor(format=lzma.FORMAT_ALONE))
        if head.startswith(_BZ2):
            return _stream_head(path, bz2.BZ2Decompressor())
        if head.startswith(_JOBLIB_LEGACY) and _is_zlib(head[_JOBLIB_LEGACY_HEADER:]):
            return _stream_head(path, zlib.decompressobj(), skip=_JOBLIB_LEGACY_HEADER)
        if _is_zlib(head):
            return _stream_head(path, zlib.decompressobj())
        if head.startswith(_LZ4_FRAME):
            return _lz4_head(path)
    except (OSError, EOFError, ValueError, lzma.LZMAError, zlib.error):
        return b""
    return None


def _is_zlib(head: bytes) -> bool:
    """A zlib header: deflate method, and the two bytes a multiple of 31 (RFC 1950)."""
    return len(head) >= 2 and head[0] & 0x0F == 8 and head[0] >> 4 <= 7 and (head[0] << 8 | head[1]) % 31 == 0


class _Decompressor(Protocol):
    def decompress(self, data: bytes, /) -> bytes:
        """The bytes this slice of the stream decompresses to."""
        ...


def _stream_head(path: Path, decompressor: _Decompressor, *, skip: int = 0) -> bytes:
    """Feed the file to ``decompressor`` in slices until it yields a few bytes (or the cap is read)."""
    out = b""
    with open(path, "rb") as handle:
        handle.seek(skip)
        read = 0
        while len(out) < 2 and read < _COMPRESSED_READ:
            block = handle.read(64 << 10)
            if not block:
                break
            read += len(block)
            out += decompressor.decompress(block)
    return out[:_PEEK]


def _lz4_head(path: Path) -> bytes:
    """An lz4 frame's first bytes; without the lz4 package, any lz4 frame counts as joblib's (raylake
    loads no lz4 model format, so the answer only changes the refusal's wording)."""
    try:
        import lz4.frame
    except ImportError:
        return b"\x80\x04"
    with lz4.frame.open(path, "rb") as stream:
        return bytes(stream.read(_PEEK))


def _is_onnx(path: Path) -> bool:
    """Parses as an ONNX ``ModelProto`` with an IR version and a graph that has outputs."""
    import onnx
    from google.protobuf.message import DecodeError

    try:
        model = onnx.load_model_from_string(path.read_bytes())
    except (DecodeError, ValueError, RuntimeError, MemoryError):
        return False
    return model.ir_version > 0 and model.HasField("graph") and len(model.graph.output) > 0


def _is_text_pickle(path: Path) -> bool:
    """A protocol 0/1 pickle: its opcodes parse (without running) to STOP at the end of the file."""
    with open(path, "rb") as handle:
        data = handle.read(_TEXT_PICKLE_READ + 1)
    return _text_pickle_prefix(data, complete=len(data) <= _TEXT_PICKLE_READ)


def _text_pickle_prefix(data: bytes, *, complete: bool) -> bool:
    """``complete``: the whole of ``data`` is one pickle ending in STOP. Otherwise ``data`` is a prefix:
    it parses cleanly as far as it goes and imports something (a GLOBAL), as any pickled model does."""
    if not data:
        return False
    seen = 0
    imports = False
    try:
        for opcode, _arg, position in pickletools.genops(io.BytesIO(data)):
            seen += 1
            imports = imports or opcode.name in _IMPORTS
            if opcode.name == "STOP":
                return (position is not None and position + 1 == len(data)) or (not complete and imports)
    except Exception:  # a truncated or foreign stream: genops raises ValueError and friends
        return not complete and imports and seen >= 3
    return False


# ---------------------------------------------------------------------------------------------- skops

# Besides scikit-learn, numpy and scipy classes: LightGBM's scikit-learn wrappers and what they hold.
_EXTERNAL_ALLOWED = SKOPS_ALLOWED | {
    "lightgbm.sklearn.LGBMClassifier",
    "lightgbm.sklearn.LGBMRegressor",
    "lightgbm.basic.Booster",
    "collections.OrderedDict",
}
_TRUSTED_PACKAGES = frozenset({"sklearn", "numpy", "scipy"})


def untrusted_skops_types(path: Path) -> list[str]:
    """The types in a skops file an uploaded model may not hold (empty: it may be loaded).

    Classes of scikit-learn, numpy and scipy are trusted (loading one builds an object; nothing is
    called), and LightGBM's wrappers; a function is trusted only by name (``SKOPS_ALLOWED``) or as a
    numpy ufunc, because estimators call stored functions when predicting (``FunctionTransformer``)."""
    import skops.io

    return sorted(name for name in skops.io.get_untrusted_types(file=path) if not _trusted(name))


def _trusted(name: str) -> bool:
    if name in _EXTERNAL_ALLOWED:
        return True
    module, _, attribute = name.rpartition(".")
    if module.split(".")[0] not in _TRUSTED_PACKAGES or not attribute:
        return False
    try:
        found = getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError):
        return False
    return isinstance(found, type | np.ufunc)
