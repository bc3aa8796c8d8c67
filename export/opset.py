"""The ONNX opset every export writes by default and the oldest it accepts: 18, what the dynamo exporter
writes natively and TensorRT 10's ONNX parser reads (JetPack 6's TensorRT 10.3 included)."""
DEFAULT_OPSET = 18
