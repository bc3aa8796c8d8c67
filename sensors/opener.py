"""`sensors.open(source, **options)`: one entry point choosing the source by URL scheme or file kind."""
from __future__ import annotations

import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .source import Source, SourceError

if typing.TYPE_CHECKING:
    from .rig import LiveRig

SCHEMES = ("sim", "udp", "velodyne", "camera")
#: live packet sources: their idle_timeout is also how long opening waits for the first packets
UDP_SCHEMES = ("udp", "velodyne")
#: file kinds by suffix (longest first where one ends another): one sweep per file, captures of many
POINT_SUFFIXES = (".pcd.bin", ".bin", ".pcd", ".ply")
PCAP_SUFFIXES = (".pcap", ".pcapng")
BAG_SUFFIXES = (".db3", ".mcap")


def open_source(source: str | Path | int, **options: Any) -> Source:
    """Open a source of frames.

    - ``sim://hdl64e?seed=0&frames=100`` (also vlp16, os128): the simulated LiDAR
    - ``udp://0.0.0.0:2368`` (or ``velodyne://``; ``?device_ip=A`` accepts that sender only): a live Velodyne
    - ``camera://0`` or an int: a camera device
    - a ``.pcap`` (Velodyne, or Ouster with its ``.json``), a ROS 2 bag folder/``.db3``/``.mcap``,
      KITTI ``.bin``/sequence folder, nuScenes ``.pcd.bin``, ``.pcd``, ``.ply``, a video, or an image folder
    - a rig (LiDAR + calibrated cameras; frames carry ``images`` and ``cameras``): a sample's
      ``calibration.json``, a nuScenes-style folder (``calibration.json`` + ``samples/``) or a KITTI-style
      folder (``velodyne/``, ``image_2/``, ``calib/``); live rigs: ``sensors.rig.LiveRig``
    Keyword options override the URL's query parameters.
    """
    if isinstance(source, int):
        return _camera(str(source), options)
    text = str(source)
    scheme = urlsplit(text).scheme if "://" in text else ""
    if scheme:
        if scheme not in SCHEMES:
            raise SourceError(f"{text}: unknown scheme {scheme}://; known: {', '.join(s + '://' for s in SCHEMES)}")
        url = urlsplit(text)
        merged = {**dict(parse_qsl(url.query)), **options}
        if scheme == "sim":
            return _sim(url.netloc or "hdl64e", merged)
        if scheme == "camera":
            return _camera(url.netloc or "0", merged)
        return _velodyne_udp(url.hostname or "0.0.0.0", url.port or 2368, merged)
    return _open_path(Path(text), options)


def _open_path(path: Path, options: dict[str, Any]) -> Source:
    from .camera import IMAGE_SUFFIXES, VIDEO_SUFFIXES, ImageFolderSource, open_video
    from .kitti import open_kitti
    from .nuscenes import open_nuscenes
    from .pointcloud_files import open_point_files

    if not path.exists():
        raise SourceError(f"{path}: no such file or folder")
    name = path.name.lower()
    if name.endswith(".json") and path.is_file():
        from .ouster import is_metadata
        from .rig import open_calibration_rig

        if is_metadata(path):
            raise SourceError(f"{path}: an Ouster sensor metadata file, not a source: open the capture it describes "
                              f"(a .pcap named like it is read with it, or -o metadata={path})")
        return _accepting(open_calibration_rig, path, options, "tolerance", open_lidar=open_source)
    if path.is_dir():
        from .rig import open_kitti_rig, open_nuscenes_rig, rig_folder_kind

        rig = rig_folder_kind(path)
        if rig == "rig-nuscenes":
            return _accepting(open_nuscenes_rig, path, options, "tolerance", open_lidar=open_source)
        if rig == "rig-kitti":
            return _accepting(open_kitti_rig, path, options, "camera", open_lidar=open_source)
        kind = _folder_kind(path)
    else:
        kind = next((s for s in (".pcd.bin", *PCAP_SUFFIXES, *BAG_SUFFIXES) if name.endswith(s)), path.suffix.lower())
    if kind in PCAP_SUFFIXES:
        return _pcap(path, options)
    if kind in (*BAG_SUFFIXES, "bag"):
        from .rosbag import open_bag

        scale = options.pop("intensity_scale", None)
        return open_bag(path, options.pop("topic", None), options.pop("model", None), _decode_options(options),
                        _positive_float(scale, "intensity_scale", path))
    if kind == ".pcd.bin":
        return _accepting(open_nuscenes, path, options, "labels")
    if kind == ".bin":
        return _accepting(open_kitti, path, options)
    if kind in (".pcd", ".ply"):
        if "intensity_scale" in options:
            options["intensity_scale"] = _positive_float(options["intensity_scale"], "intensity_scale", path)
        return _accepting(open_point_files, path, options, "intensity_scale", suffix=kind)
    if kind in VIDEO_SUFFIXES:
        return _accepting(open_video, path, options)
    if kind in IMAGE_SUFFIXES or kind == "images":
        folder = path if path.is_dir() else path.parent
        return _accepting(ImageFolderSource, folder, options, "rate_hz")
    raise SourceError(f"{path}: unknown kind of sensor data ({kind or 'no suffix'})")


def _positive_float(value: Any, name: str, path: Path) -> float | None:
    """An option given as text (URL query) or a number; None stays None."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not number > 0:
        raise SourceError(f"{path}: {name} {value!r}: expected a positive number")
    return number


def _folder_kind(folder: Path) -> str:
    from .camera import IMAGE_SUFFIXES

    if (folder / "metadata.yaml").is_file():
        return "bag"
    if (folder / "velodyne").is_dir():
        return ".bin"
    names = [p.name.lower() for p in folder.iterdir() if p.is_file()]
    for suffix in POINT_SUFFIXES:
        if any(n.endswith(suffix) for n in names):
            return suffix
    if any(n.endswith(IMAGE_SUFFIXES) for n in names):
        return "images"
    raise SourceError(f"{folder}: no sensor data found (KITTI, nuScenes, PCD, PLY, images or a ROS 2 bag)")


def _accepting(factory, path: Path, options: dict[str, Any], *allowed: str, **fixed: Any) -> Source:
    unknown = set(options) - set(allowed)
    if unknown:
        raise SourceError(f"{path}: unknown option(s) {sorted(unknown)} for this kind of source")
    return factory(path, **options, **fixed)


def _decode_options(options: dict[str, Any]):
    from .velodyne import DecodeOptions

    return _dataclass_from(DecodeOptions, options, "Velodyne decoding")


def _pcap(path: Path, options: dict[str, Any]) -> Source:
    from .ouster import OusterPcapSource, metadata_for
    from .velodyne import open_velodyne_pcap

    metadata = options.pop("metadata", None)
    if metadata is not None or metadata_for(path) is not None:
        return _accepting(OusterPcapSource, path, options, metadata=Path(metadata) if metadata else None)
    model = options.pop("model", None)
    port = options.pop("port", 2368)
    return open_velodyne_pcap(path, model, None if port in (None, "any") else int(port), _decode_options(options))


def _velodyne_udp(host: str, port: int, options: dict[str, Any]) -> Source:
    from .velodyne import VelodyneUdpSource

    model = options.pop("model", None)
    idle_timeout = float(options.pop("idle_timeout", 5.0))
    device_ip = options.pop("device_ip", None)
    return VelodyneUdpSource(host, port, model, _decode_options(options), idle_timeout=idle_timeout, device_ip=device_ip)


def _sim(sensor: str, options: dict[str, Any]) -> Source:
    from .sim import SENSORS, SimOptions, SimulatedLidar

    if sensor not in SENSORS:
        raise SourceError(f"sim://{sensor}: unknown simulated sensor; choose {', '.join(SENSORS)}")
    return SimulatedLidar(_dataclass_from(SimOptions, {"sensor": sensor, **options}, "sim://"))


def _camera(device: str, options: dict[str, Any]) -> Source:
    from .camera import VideoSource

    if options:
        raise SourceError(f"camera://{device}: unknown option(s) {sorted(options)}")
    if not device.isdigit():
        raise SourceError(f"camera://{device}: the device must be an index such as camera://0")
    return VideoSource(int(device), live=True)


def _dataclass_from(cls: type, values: dict[str, Any], what: str):
    """Build an options dataclass from strings (URL query) or typed values, naming bad keys and values."""
    hints = typing.get_type_hints(cls)
    unknown = set(values) - set(hints)
    if unknown:
        raise SourceError(f"{what}: unknown option(s) {sorted(unknown)}; known: {sorted(hints)}")
    converted = {}
    for key, value in values.items():
        try:
            converted[key] = _convert(value, hints[key])
        except ValueError as err:
            raise SourceError(f"{what}: option {key}={value!r} is invalid ({err})") from err
    return cls(**converted)


def _convert(value: Any, hint: Any) -> Any:
    """A URL query string converted to the option's declared type (str, bool, int, float, or None)."""
    if not isinstance(value, str):
        return value
    kinds = typing.get_args(hint) or (hint,)
    if type(None) in kinds and value.lower() == "none":
        return None
    if str in kinds:
        return value
    if bool in kinds:
        if value.lower() not in ("1", "0", "true", "false", "yes", "no"):
            raise ValueError("expected a boolean")
        return value.lower() in ("1", "true", "yes")
    if int in kinds and value.lstrip("-").isdigit():
        return int(value)
    return float(value)


def open_live_rig(lidar: str | Source, cameras: Mapping[str, str | int | Source], calibration: str | Path,
                  tolerance: float | None = None) -> LiveRig:
    """A live rig from sources or URLs (`udp://0.0.0.0:2368`, `camera://0`) and a calibration file naming
    each camera; a camera the file does not calibrate fails at once."""
    from .calibration import CalibrationError, read_calibration_json
    from .rig import DEFAULT_TOLERANCE_S, LiveRig

    calibrated = read_calibration_json(calibration).cameras
    missing = sorted(set(cameras) - set(calibrated))
    if missing:
        raise CalibrationError(f"{calibration}: no calibration for camera(s) {missing}; it has {sorted(calibrated)}")
    opened = {name: source if isinstance(source, Source) else open_source(source) for name, source in cameras.items()}
    return LiveRig(lidar if isinstance(lidar, Source) else open_source(lidar), opened,
                   {name: calibrated[name] for name in cameras}, DEFAULT_TOLERANCE_S if tolerance is None else tolerance)
