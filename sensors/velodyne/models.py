"""Velodyne sensor models and their identification from packet structure.

The model byte is not trusted alone (early VLP-16 firmware reports HDL-32E): the bank flags and the
firing period, measured from the packets' own microsecond clock, are a fingerprint that does not
depend on the spin rate.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PACKET_SIZE = 1206
BLOCKS_PER_PACKET = 12
BLOCK_SIZE = 100
UPPER_BANK, LOWER_BANK, BANK_C, BANK_D = 0xEEFF, 0xDDFF, 0xCCFF, 0xBBFF
VALID_FLAGS = (UPPER_BANK, LOWER_BANK, BANK_C, BANK_D)
DUAL_RETURN = 0x39


@dataclass(frozen=True)
class VelodyneModel:
    name: str
    decoder_model: str  # velodyne_decoder.Model member
    model_byte: int | None
    #: blocks that share one azimuth in single-return mode (laser banks)
    banks: int
    #: time between blocks in single-return mode, microseconds
    block_period_us: float


MODELS: dict[str, VelodyneModel] = {
    m.name: m
    for m in (
        VelodyneModel("VLP-16", "VLP16", 0x22, 1, 110.592),
        VelodyneModel("Puck Hi-Res", "PuckHiRes", 0x24, 1, 110.592),
        VelodyneModel("HDL-32E", "HDL32E", 0x21, 1, 46.08),
        VelodyneModel("VLP-32C", "VLP32C", 0x28, 1, 55.296),
        VelodyneModel("VLS-128", "VLS128", 0xA1, 4, 53.3),
        VelodyneModel("HDL-64E", "HDL64E_S2", None, 2, 48.0),
    )
}
ALIASES = {
    "vlp16": "VLP-16", "puckhires": "Puck Hi-Res", "hdl32e": "HDL-32E", "hdl32": "HDL-32E",
    "vlp32c": "VLP-32C", "vlp32": "VLP-32C", "vls128": "VLS-128", "hdl64e": "HDL-64E", "hdl64": "HDL-64E",
}
BY_BYTE = {m.model_byte: m for m in MODELS.values() if m.model_byte is not None}


def model_by_name(name: str) -> VelodyneModel:
    key = ALIASES.get(name.lower().replace("-", "").replace("_", "").replace(" ", ""), name)
    if key not in MODELS:
        raise ValueError(f"unknown Velodyne model {name!r}; known: {', '.join(MODELS)}")
    return MODELS[key]


@dataclass(frozen=True)
class Fingerprint:
    """What a handful of packets say about the sensor."""

    flags: frozenset[int]
    block_period_us: float | None
    dual_return: bool
    model_byte: int
    #: spin rate from the azimuth step between packets and the packet clock
    rotation_hz: float | None


def fingerprint(packets: list[bytes]) -> Fingerprint:
    raw = np.frombuffer(b"".join(packets), dtype=np.uint8).reshape(len(packets), PACKET_SIZE)
    flags = raw[:, :1200].reshape(-1, BLOCKS_PER_PACKET, BLOCK_SIZE)[:, :, :2].copy().view("<u2")
    stamps = raw[:, 1200:1204].copy().view("<u4").ravel().astype(np.int64)
    steps = np.diff(stamps)
    steps = steps[(steps > 0) & (steps < 100_000)]  # drop the top-of-hour wrap and lost packets
    period = float(np.median(steps)) / BLOCKS_PER_PACKET if len(steps) else None
    azimuths = raw[:, 2:4].copy().view("<u2").ravel().astype(np.int64)  # first block of each packet
    turn = np.mod(np.diff(azimuths), 36000)
    rotation = None
    if period and len(turn):
        degrees_per_us = float(np.median(turn)) / 100.0 / (period * BLOCKS_PER_PACKET)
        rotation = round(degrees_per_us * 1e6 / 360.0, 1) or None
    return Fingerprint(
        flags=frozenset(int(f) for f in np.unique(flags)),
        block_period_us=period,
        dual_return=int(np.median(raw[:, 1204])) == DUAL_RETURN,
        model_byte=int(np.bincount(raw[:, 1205]).argmax()),
        rotation_hz=rotation,
    )


def identify(packets: list[bytes]) -> tuple[VelodyneModel, str]:
    """The sensor model and a sentence saying how it was decided."""
    fp = fingerprint(packets)
    if {BANK_C, BANK_D} <= fp.flags:
        return MODELS["VLS-128"], "four laser banks per firing"
    if LOWER_BANK in fp.flags:
        return MODELS["HDL-64E"], "upper and lower laser banks"
    claimed = BY_BYTE.get(fp.model_byte)
    if fp.block_period_us is None:
        if claimed is None:
            raise ValueError(f"model byte 0x{fp.model_byte:02x} is unknown and the packet clock is unusable")
        return claimed, f"model byte 0x{fp.model_byte:02x} (packet clock unusable)"
    firing_period = fp.block_period_us * (2 if fp.dual_return else 1)
    candidates = [m for m in MODELS.values() if m.banks == 1]
    best = min(candidates, key=lambda m: abs(m.block_period_us - firing_period))
    if abs(best.block_period_us - firing_period) > 0.15 * best.block_period_us:
        if claimed is None:
            raise ValueError(f"unknown sensor: model byte 0x{fp.model_byte:02x}, "
                             f"firing period {firing_period:.1f} us matches no known Velodyne")
        return claimed, f"model byte 0x{fp.model_byte:02x} (firing period {firing_period:.1f} us matches none)"
    if claimed is not None and claimed.block_period_us == best.block_period_us:
        return claimed, f"model byte 0x{fp.model_byte:02x}, confirmed by the {firing_period:.1f} us firing period"
    return best, (f"firing period {firing_period:.1f} us (model byte 0x{fp.model_byte:02x} "
                  f"{'claims ' + claimed.name if claimed else 'is unknown'})")
