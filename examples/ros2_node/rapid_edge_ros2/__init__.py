"""ROS 2 node for the RAPiD Edge SDK's rapid_seg pipeline."""
