"""The large-cloud set-up of the DDS middleware in use: Fast DDS reads a profile file, CycloneDDS a URI
whose socket buffer must fit under the kernel's ceiling; each is checked by what RMW_IMPLEMENTATION selects."""
from __future__ import annotations

from pathlib import Path

import pytest

from sdk.apps.dds import dds_setup

CONFIGS = Path(__file__).resolve().parents[2] / "examples" / "ros2_node" / "config"
CYCLONE = CONFIGS / "cyclonedds_large_clouds.xml"


def ceiling(tmp_path, value: int) -> Path:
    path = tmp_path / "rmem_max"
    path.write_text(f"{value}\n")
    return path


def test_fast_dds_is_the_default_and_wants_its_profile(tmp_path):
    unset = dds_setup({}, ceiling(tmp_path, 212992))
    assert unset.rmw == "rmw_fastrtps_cpp" and "FASTDDS_DEFAULT_PROFILES_FILE is unset" in unset.notes[0]
    profile = str(CONFIGS / "fastdds_large_clouds.xml")
    assert dds_setup({"FASTDDS_DEFAULT_PROFILES_FILE": profile}).notes == []
    with pytest.raises(ValueError, match="nowhere.xml: no such file"):
        dds_setup({"FASTDDS_DEFAULT_PROFILES_FILE": str(tmp_path / "nowhere.xml")})


@pytest.mark.parametrize("uri", [f"file://{CYCLONE}", str(CYCLONE), CYCLONE.read_text().split("?>", 1)[1]])
def test_cyclonedds_configuration_is_read_and_its_buffer_held_against_the_kernel(tmp_path, uri):
    """The shipped configuration asks for 16 MB: the stock 208 KB ceiling is named with the sysctl that lifts it."""
    cyclone = {"RMW_IMPLEMENTATION": "rmw_cyclonedds_cpp", "CYCLONEDDS_URI": uri}
    low = dds_setup(cyclone, ceiling(tmp_path, 212992))
    assert low.rmw == "rmw_cyclonedds_cpp" and low.variable == "CYCLONEDDS_URI"
    assert low.notes == ["the CycloneDDS configuration asks for a 16777216 B receive buffer but net.core.rmem_max "
                         "is 212992: participants will fail to start (sudo sysctl -w net.core.rmem_max=16777216)"]
    assert dds_setup(cyclone, ceiling(tmp_path, 2147483647)).notes == []


def test_cyclonedds_without_configuration_or_with_a_bad_one(tmp_path):
    unset = dds_setup({"RMW_IMPLEMENTATION": "rmw_cyclonedds_cpp"})
    assert "CYCLONEDDS_URI is unset" in unset.notes[0] and "cyclonedds_large_clouds.xml" in unset.notes[0]
    with pytest.raises(ValueError, match="no such file"):
        dds_setup({"RMW_IMPLEMENTATION": "rmw_cyclonedds_cpp", "CYCLONEDDS_URI": f"file://{tmp_path}/none.xml"})
    broken = tmp_path / "broken.xml"
    broken.write_text("<CycloneDDS><Domain>")
    with pytest.raises(ValueError, match="not a CycloneDDS configuration"):
        dds_setup({"RMW_IMPLEMENTATION": "rmw_cyclonedds_cpp", "CYCLONEDDS_URI": str(broken)})


def test_another_middleware_is_named_as_unchecked():
    assert dds_setup({"RMW_IMPLEMENTATION": "rmw_zenoh_cpp"}).notes == [
        "rmw_zenoh_cpp: the SDK checks Fast DDS's and CycloneDDS's set-up only"]
