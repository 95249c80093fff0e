"""Reading zip containers (DOCX, XLSX, OFD, plain ZIP) without trusting their headers.

A member is read only if its declared size fits the caps; zipfile never returns more than the
declared size, so a member that lies inflates no further. Names written by Chinese Windows
tools are GBK without the UTF-8 flag: they are decoded as GB18030, not cp437 mojibake.
"""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Iterator
from typing import Literal
from xml.etree import ElementTree as ET

from .limits import MAX_MEMBER_BYTES, MAX_TOTAL_INFLATED, MAX_ZIP_MEMBERS, LimitExceeded

_UTF8_FLAG = 0x800
_CHUNK = 64 * 1024
_EOCD = b"PK\x05\x06"


def zip_entry_count(data: bytes) -> int | None:
    """Entries the zip's end record claims, read before zipfile builds an object per entry."""
    at = data.rfind(_EOCD, max(0, len(data) - 65_557))
    if at < 0 or at + 12 > len(data):
        return None
    (count,) = struct.unpack_from("<H", data, at + 10)
    return int(count)


def member_name(info: zipfile.ZipInfo) -> str:
    """The member's name as its writer meant it (GB18030 when the UTF-8 flag is absent)."""
    if info.flag_bits & _UTF8_FLAG:
        return info.filename
    try:
        raw = info.filename.encode("cp437")
    except UnicodeEncodeError:
        return info.filename
    for codec in ("utf-8", "gb18030"):
        try:
            return raw.decode(codec)
        except UnicodeDecodeError:
            continue
    return info.filename


class SafeZip:
    """A zip archive whose reads are capped per member and in total."""

    def __init__(self, data: bytes, parent: SafeZip | None = None) -> None:
        count = zip_entry_count(data)
        if count is not None and count > MAX_ZIP_MEMBERS:
            raise LimitExceeded(f"zip has {count} entries (cap {MAX_ZIP_MEMBERS})")
        self._zip = zipfile.ZipFile(io.BytesIO(data))
        # A zip inside a zip draws on its parent's allowance, not a fresh one.
        self._spent: list[int] = parent._spent if parent is not None else [0]
        infos = self._zip.infolist()
        if len(infos) > MAX_ZIP_MEMBERS:
            raise LimitExceeded(f"zip has {len(infos)} entries (cap {MAX_ZIP_MEMBERS})")
        self.infos = infos
        self._by_name = {info.filename: info for info in infos}
        self._by_lower = {info.filename.lower().lstrip("/"): info for info in infos}

    def names(self) -> list[str]:
        return [member_name(info) for info in self.infos if not info.is_dir()]

    def find(self, name: str) -> zipfile.ZipInfo | None:
        """A member by exact name, else case-insensitively (OFD writers differ on case)."""
        info = self._by_name.get(name)
        if info is None:
            info = self._by_lower.get(name.lower().lstrip("/"))
        return info

    def has(self, name: str) -> bool:
        return self.find(name) is not None

    def _reserve(self, info: zipfile.ZipInfo) -> None:
        if info.file_size > MAX_MEMBER_BYTES:
            raise LimitExceeded(
                f"zip member {member_name(info)!r} inflates to {info.file_size} bytes "
                f"(cap {MAX_MEMBER_BYTES})"
            )
        if self._spent[0] + info.file_size > MAX_TOTAL_INFLATED:
            raise LimitExceeded(f"zip inflates to more than {MAX_TOTAL_INFLATED} bytes in total")
        self._spent[0] += info.file_size

    def read(self, name: str | zipfile.ZipInfo) -> bytes:
        info = name if isinstance(name, zipfile.ZipInfo) else self.find(name)
        if info is None:
            raise KeyError(name)
        self._reserve(info)
        with self._zip.open(info) as member:
            # Never more than the declared size, even if the stream would inflate further.
            return member.read(info.file_size + 1)[: info.file_size]

    def iterparse(
        self, name: str | zipfile.ZipInfo, events: tuple[Literal["start", "end"], ...] = ("end",)
    ) -> Iterator[tuple[str, ET.Element]]:
        """Stream-parse an XML member in chunks (its size reserved against the caps first):
        memory holds one chunk and the elements the caller has not cleared."""
        info = name if isinstance(name, zipfile.ZipInfo) else self.find(name)
        if info is None:
            raise KeyError(name)
        self._reserve(info)
        parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events)
        tail = b""
        with self._zip.open(info) as member:
            left = info.file_size
            while left > 0:
                chunk = member.read(min(_CHUNK, left))
                if not chunk:
                    break
                left -= len(chunk)
                refuse_dtd(tail + chunk)  # the overlap catches a marker split across chunks
                tail = chunk[-16:]
                parser.feed(chunk)
                # Only start and end events were asked for: each item is an element.
                yield from parser.read_events()  # type: ignore[misc]
        parser.close()
        yield from parser.read_events()  # type: ignore[misc]

    def parse(self, name: str | zipfile.ZipInfo) -> ET.Element:
        data = self.read(name)
        refuse_dtd(data)
        return ET.fromstring(data)


def refuse_dtd(data: bytes) -> None:
    """OOXML and OFD never carry a DTD; one is only there to expand entities (billion laughs)."""
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise ValueError("XML with a DTD refused")
