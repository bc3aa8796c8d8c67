"""Velodyne VLP-16, Puck Hi-Res, HDL-32E, VLP-32C, VLS-128 and HDL-64E packets: pcap, live UDP, ROS bags."""
from .assembler import DecodeOptions, RotationAssembler
from .models import MODELS, VelodyneModel, identify, model_by_name
from .sources import VelodynePacketSource, VelodyneUdpSource, open_velodyne_pcap, pcap_packets

__all__ = [
    "DecodeOptions", "RotationAssembler", "MODELS", "VelodyneModel", "identify", "model_by_name",
    "VelodynePacketSource", "VelodyneUdpSource", "open_velodyne_pcap", "pcap_packets",
]
