"""ament_python package of the rapid_seg node; the SDK itself comes from `pip install rapid-edge-sdk`."""
from glob import glob

from setuptools import setup

setup(
    name="rapid_edge_ros2",
    version="0.1.0",
    packages=["rapid_edge_ros2"],
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/rapid_edge_ros2"]),
        ("share/rapid_edge_ros2", ["package.xml"]),
        ("share/rapid_edge_ros2/launch", glob("launch/*.xml")),
        ("share/rapid_edge_ros2/config", glob("config/*.yaml") + glob("config/*.xml")),
    ],
    install_requires=["setuptools"],
    entry_points={"console_scripts": ["rapid_seg_node = rapid_edge_ros2.segmentation_node:main"]},
)
