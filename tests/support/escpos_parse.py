"""A strict walker over the ESC/POS byte stream python-escpos emits (test helper).

It knows the length of every command the receipt uses, so it never mistakes bytes inside
raster data for commands, and it fails loudly on a command it does not know. It also
works on a growing buffer (``next_command`` returns None while a command is incomplete),
which the fake network printer uses to answer ``DLE EOT`` only at command boundaries.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageOps

ESC, GS, DLE = 0x1B, 0x1D, 0x10
#: ESC x -> number of argument bytes
ESC_ARGS = {b"@": 0, b"2": 0, b"a": 1, b"E": 1, b"!": 1, b"-": 1, b"M": 1, b"t": 1, b"d": 1, b"{": 1,
            b"J": 1, b"G": 1, b"3": 1, b"r": 1, b"p": 3, b"c": 2, b"V": 1}
GS_ARGS = {b"!": 1, b"B": 1, b"H": 1, b"h": 1, b"w": 1, b"f": 1, b"b": 1, b"L": 2, b"W": 2}


@dataclass
class Event:
    kind: str            # text | raster | qr_store | qr_param | cut | status_query | command
    data: bytes = b""
    image: Image.Image | None = None
    fn: int = 0


def next_command(buf: bytes, i: int) -> tuple[int, Event] | None:
    """(end, event) for the command at ``i``; None when ``buf`` ends inside it."""
    n = len(buf)
    b = buf[i]
    if b == DLE:
        if i + 3 > n:
            return None
        if buf[i + 1] != 0x04:
            raise ValueError(f"unknown DLE command at {i}: {buf[i:i + 3]!r}")
        return i + 3, Event("status_query", buf[i + 2:i + 3])
    if b == ESC:
        if i + 2 > n:
            return None
        cmd = buf[i + 1:i + 2]
        if cmd not in ESC_ARGS:
            raise ValueError(f"unknown ESC command at {i}: {cmd!r}")
        end = i + 2 + ESC_ARGS[cmd]
        return (end, Event("command", buf[i:end])) if end <= n else None
    if b == GS:
        if i + 2 > n:
            return None
        cmd = buf[i + 1:i + 2]
        if cmd == b"V":
            if i + 3 > n:
                return None
            end = i + 3 + (1 if buf[i + 2] in (65, 66, 97, 98, 103, 104) else 0)
            return (end, Event("cut")) if end <= n else None
        if cmd == b"v":
            if i + 8 > n:
                return None
            if buf[i + 2] != 0x30:
                raise ValueError(f"unknown GS v command at {i}")
            width_bytes = buf[i + 4] + 256 * buf[i + 5]
            height = buf[i + 6] + 256 * buf[i + 7]
            end = i + 8 + width_bytes * height
            if end > n:
                return None
            return end, Event("raster", image=raster_image(buf[i + 8:end], width_bytes, height))
        if cmd == b"(":
            if i + 5 > n:
                return None
            length = buf[i + 3] + 256 * buf[i + 4]
            end = i + 5 + length
            if end > n:
                return None
            body = buf[i + 5:end]
            if buf[i + 2:i + 3] == b"k" and body[:1] == b"1":
                fn = body[1]
                if fn == 80:                       # store data: cn fn m data
                    return end, Event("qr_store", body[3:], fn=fn)
                return end, Event("qr_param", body[2:], fn=fn)
            return end, Event("command", buf[i:end])
        if cmd not in GS_ARGS:
            raise ValueError(f"unknown GS command at {i}: {cmd!r}")
        end = i + 2 + GS_ARGS[cmd]
        return (end, Event("command", buf[i:end])) if end <= n else None
    j = i
    while j < n and buf[j] not in (ESC, GS, DLE):
        j += 1
    return j, Event("text", buf[i:j])


def parse(buf: bytes) -> list[Event]:
    events, i = [], 0
    while i < len(buf):
        step = next_command(buf, i)
        if step is None:
            raise ValueError(f"the stream ends inside a command at byte {i}")
        i, event = step
        events.append(event)
    return events


def raster_image(data: bytes, width_bytes: int, height: int) -> Image.Image:
    """GS v 0 data (1 bit per dot, MSB first, 1 = black) as a white-background 'L' image."""
    im = Image.frombytes("1", (width_bytes * 8, height), bytes(data))   # PIL '1': a set bit is white
    return ImageOps.invert(im.convert("L"))


def text(buf: bytes) -> str:
    """The printed text (ASCII view; code-page bytes above 0x7F become '?')."""
    return "".join(e.data.decode("ascii", "replace").replace("\ufffd", "?") for e in parse(buf) if e.kind == "text")


def rasters(buf: bytes) -> list[Image.Image]:
    return [e.image for e in parse(buf) if e.kind == "raster"]


def native_qr(buf: bytes) -> list[str]:
    return [e.data.decode("latin-1") for e in parse(buf) if e.kind == "qr_store"]


def cuts(buf: bytes) -> int:
    return sum(1 for e in parse(buf) if e.kind == "cut")
