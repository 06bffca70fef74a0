"""The two file contracts between stages: events (ROOT) and tensors (HDF5)."""
