"""The DDS set-up large clouds need, for the ROS 2 middleware in use (`RMW_IMPLEMENTATION`): with stock
settings a 64-beam sweep (about 2 MB) never reaches another process under Fast DDS (512 KB shared-memory
segment) and arrives in pieces or not at all under CycloneDDS (UDP fragments into a small socket buffer).
Each middleware reads its own configuration; `ros2 check` and `doctor` say which one is in use and whether
its configuration is set."""
from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path

#: the middleware ROS 2 (Humble to Kilted) runs when RMW_IMPLEMENTATION is unset
DEFAULT_RMW = "rmw_fastrtps_cpp"
FASTDDS_VARIABLE, CYCLONEDDS_VARIABLE = "FASTDDS_DEFAULT_PROFILES_FILE", "CYCLONEDDS_URI"
CONFIGS = Path("examples/ros2_node/config")
#: the kernel's ceiling on a socket's receive buffer, which CycloneDDS's minimum must fit under
RMEM_MAX = Path("/proc/sys/net/core/rmem_max")
UNITS = {"": 1, "b": 1, "kb": 1024, "kib": 1024, "mb": 1024**2, "mib": 1024**2, "gb": 1024**3, "gib": 1024**3}


@dataclass
class DdsSetup:
    rmw: str
    #: the environment variable the middleware reads its configuration from, and what it holds
    variable: str | None
    config: str | None
    notes: list[str] = field(default_factory=list)


def dds_setup(environment: dict[str, str] | None = None, rmem_max: Path = RMEM_MAX) -> DdsSetup:
    """The middleware `environment` (default: this process's) selects and the state of its configuration;
    a file named but missing fails at once, an unset configuration is a note."""
    environment = dict(os.environ) if environment is None else environment
    rmw = environment.get("RMW_IMPLEMENTATION") or DEFAULT_RMW
    if rmw.startswith("rmw_fastrtps"):
        profile = environment.get(FASTDDS_VARIABLE)
        setup = DdsSetup(rmw, FASTDDS_VARIABLE, profile)
        if not profile:
            setup.notes.append(f"{FASTDDS_VARIABLE} is unset: best-effort clouds above 512 KB will not reach other "
                               f"processes ({CONFIGS / 'fastdds_large_clouds.xml'})")
        elif not Path(profile).is_file():
            raise ValueError(f"{FASTDDS_VARIABLE}={profile}: no such file")
        return setup
    if rmw == "rmw_cyclonedds_cpp":
        uri = environment.get(CYCLONEDDS_VARIABLE)
        setup = DdsSetup(rmw, CYCLONEDDS_VARIABLE, uri)
        if not uri:
            setup.notes.append(f"{CYCLONEDDS_VARIABLE} is unset: CycloneDDS's stock socket buffer drops 2 MB clouds "
                               f"({CONFIGS / 'cyclonedds_large_clouds.xml'})")
            return setup
        wanted = _receive_buffer_minimum(uri)
        ceiling = int(rmem_max.read_text()) if rmem_max.is_file() else None
        if wanted is not None and ceiling is not None and ceiling < wanted:
            setup.notes.append(f"the CycloneDDS configuration asks for a {wanted} B receive buffer but "
                               f"net.core.rmem_max is {ceiling}: participants will fail to start (sudo sysctl -w "
                               f"net.core.rmem_max={wanted})")
        return setup
    return DdsSetup(rmw, None, None, [f"{rmw}: the SDK checks Fast DDS's and CycloneDDS's set-up only"])


def _receive_buffer_minimum(uri: str) -> int | None:
    """The largest SocketReceiveBufferSize@min of the configuration a CYCLONEDDS_URI names: files (file:// or
    paths, comma-separated as CycloneDDS takes them) or the XML itself."""
    texts = [uri]
    if not uri.strip().startswith("<"):
        paths = [Path(part.strip().removeprefix("file://")) for part in uri.split(",") if part.strip()]
        missing = [str(path) for path in paths if not path.is_file()]
        if missing:
            raise ValueError(f"{CYCLONEDDS_VARIABLE}={uri}: no such file {', '.join(missing)}")
        texts = [path.read_text() for path in paths]
    sizes = []
    for text in texts:
        try:
            root = ElementTree.fromstring(text.strip())
        except ElementTree.ParseError as err:
            raise ValueError(f"{CYCLONEDDS_VARIABLE}: not a CycloneDDS configuration ({err})") from err
        sizes += [element.get("min") for element in root.iter() if element.tag.split("}")[-1] == "SocketReceiveBufferSize"]
    return max((_bytes(size) for size in sizes if size and size != "default"), default=None)


def _bytes(size: str) -> int:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", size)
    if match is None or match.group(2).lower() not in UNITS:
        raise ValueError(f"{CYCLONEDDS_VARIABLE}: {size!r} is not a size (like 16MB)")
    return int(float(match.group(1)) * UNITS[match.group(2).lower()])
