"""The predictions file contract: round trip and clear errors for bad files."""

import h5py
import numpy as np
import pytest

from airshower.errors import InputFileError
from airshower.evaluation.prediction_file import read_predictions, write_predictions

from tests.kit.predictions import synthetic_predictions, write_synthetic


def test_round_trip(tmp_path):
    path = tmp_path / "pred" / "m.h5"
    pred = write_synthetic(path, 50, model="m", dataset="test", targets=("xmax", "axis"))
    back = read_predictions(path, require=["xmax"])
    assert back.model == "m" and back.dataset == "test" and back.targets == ("xmax", "axis")
    assert len(back) == 50
    np.testing.assert_allclose(back.reco["xmax"], pred.reco["xmax"], rtol=1e-6)
    np.testing.assert_allclose(back.truth["lg_energy"], pred.truth["lg_energy"])
    assert set(back.truth) >= {"xmax", "lg_energy", "axis", "core", "mass", "zenith"}
    assert not list(tmp_path.glob("pred/.*tmp*"))  # nothing partial left behind


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(InputFileError, match="predictions file not found"):
        read_predictions(tmp_path / "nope.h5")


def test_lacking_a_required_target(tmp_path):
    path = tmp_path / "m.h5"
    write_synthetic(path, 10, targets=("lg_energy",))
    with pytest.raises(InputFileError, match=r"does not reconstruct \['xmax'\]"):
        read_predictions(path, require=["xmax"])


def test_file_breaking_the_contract(tmp_path):
    path = tmp_path / "m.h5"
    write_synthetic(path, 10, targets=("xmax",))
    with h5py.File(path, "a") as f:
        del f["truth/mass"]
    with pytest.raises(InputFileError, match="truth/mass"):
        read_predictions(path)
    (tmp_path / "junk.h5").write_text("not hdf5")
    with pytest.raises(InputFileError, match="not a readable HDF5"):
        read_predictions(tmp_path / "junk.h5")


def test_writer_refuses_inconsistent_columns(tmp_path):
    pred = synthetic_predictions(10)
    with pytest.raises(ValueError, match="shape"):
        write_predictions(tmp_path / "x.h5", model="m", dataset="d", truth=pred.truth,
                          reco={"xmax": pred.reco["xmax"][:5]}, event_id=pred.event_id, index=pred.index)
    assert not (tmp_path / "x.h5").exists()
