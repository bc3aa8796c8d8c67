"""Commands that start DDS participants (or other network services) run in a fresh network namespace that
holds only loopback (`unshare -n`, as root), so nothing they do can reach any other address; where a
namespace cannot be made, the command runs as given and relies on its loopback-only settings."""
from __future__ import annotations

import shutil
import subprocess
from functools import cache

#: DDS discovery on loopback only (ROS 2 Kilted ignores ROS_LOCALHOST_ONLY)
LOOPBACK_ENV = {"ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST"}


@cache
def namespace_available() -> bool:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    return subprocess.run(["unshare", "-n", "sh", "-c", "ip link set lo up"], capture_output=True).returncode == 0


def loopback_only(command: list[str]) -> list[str]:
    """`command` wrapped to run in a new network namespace with loopback up (unchanged where none can be made)."""
    if not namespace_available():
        return command
    return ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$0" "$@"', *command]
