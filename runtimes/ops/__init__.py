"""CPU implementations of the SDK's custom ops (rapid::RapidFeatures), one NumPy reference each."""
