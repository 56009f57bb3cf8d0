"""Model files: a JSON header (qualified class, hyperparameters, recplug_api, fitted shapes)
next to the fitted arrays, and no pickle of arbitrary objects.

Torch models write ``torch.save({"header": str, "weights": state_dict})`` and read it with
``weights_only=True``; the others write a NumPy ``.npz`` (``allow_pickle=False``) whose
``header`` entry is the JSON text. :class:`SavedModel` gives both ``save(path)`` and the
classmethod ``load(path, *, n_items=None, device="cpu")``.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from recplug.contract import RECPLUG_API
from recplug.errors import ModelError

FORMAT = "recplug-model"


def qualified_name(cls: type) -> str:
    """``module:QualName`` of a class, the identity a model file records."""
    return f"{cls.__module__}:{cls.__qualname__}"


def make_header(model: Any, shapes: dict[str, int]) -> str:
    """The JSON header of ``model``'s file: class, hyperparameters, recplug_api, fitted shapes."""
    return json.dumps({"format": FORMAT, "model": qualified_name(type(model)), "recplug_api": RECPLUG_API,
                       "params": model.get_params(), "shapes": {k: int(v) for k, v in shapes.items()}},
                      sort_keys=True)


def check_header(text: str, cls: type, path: Path, n_items: int | None) -> dict[str, Any]:
    """The parsed header, or ModelError naming ``path`` and what does not match."""
    try:
        header = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"{path}: the model file's header is not valid JSON ({exc})") from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ModelError(f"{path} is not a recplug model file")
    if header.get("model") != qualified_name(cls):
        raise ModelError(f"{path} holds a {header.get('model')} model, not {qualified_name(cls)}; "
                         f"load it with that class")
    if header.get("recplug_api") != RECPLUG_API:
        raise ModelError(f"{path} was written for recplug_api {header.get('recplug_api')}, this recplug "
                         f"speaks {RECPLUG_API}; refit the model")
    saved_items = header["shapes"]["n_items"]
    if n_items is not None and saved_items != n_items:
        raise ModelError(f"{path} was fitted on {saved_items} items, but {n_items} were expected; "
                         "load it only with the item vocabulary it was trained on")
    return header


def _not_a_model_file(path: Path, exc: Exception) -> ModelError:
    return ModelError(f"{path} is not a recplug model file ({type(exc).__name__}: {exc})")


def write_arrays(path: Path, header: str, arrays: dict[str, np.ndarray]) -> None:
    """An ``.npz`` at exactly ``path`` with ``header`` and the arrays (none may be ``object``)."""
    with open(path, "wb") as fh:
        np.savez(fh, header=np.array(header), **arrays)


def read_arrays(path: Path) -> tuple[str, dict[str, np.ndarray]]:
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise _not_a_model_file(path, exc) from exc
    if "header" not in arrays:
        raise ModelError(f"{path} is not a recplug model file (no header)")
    return str(arrays.pop("header")), arrays


def write_weights(path: Path, header: str, weights: dict[str, Any]) -> None:
    """``torch.save`` of the header text and a state dict moved to the CPU (tensors only)."""
    import torch

    torch.save({"header": header, "weights": {k: v.detach().cpu() for k, v in weights.items()}}, path)


def read_weights(path: Path) -> tuple[str, dict[str, Any]]:
    import torch

    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises RuntimeError, UnpicklingError, EOFError ...
        raise _not_a_model_file(path, exc) from exc
    if not isinstance(data, dict) or "header" not in data or "weights" not in data:
        raise ModelError(f"{path} is not a recplug model file (no header)")
    return data["header"], data["weights"]


def read_model_file(path: Path) -> tuple[str, dict[str, Any]]:
    """(header text, arrays) of a model file of either kind, told apart by its content."""
    try:
        with zipfile.ZipFile(path) as archive:  # .npz and torch.save files are both zip archives
            names = archive.namelist()
    except (OSError, zipfile.BadZipFile) as exc:
        raise _not_a_model_file(path, exc) from exc
    return read_arrays(path) if "header.npy" in names else read_weights(path)


class SavedModel:
    """``save(path)`` / ``load(path)`` for a model that names its fitted state.

    A subclass sets ``file_kind`` (``"npz"`` or ``"torch"``: how it writes; ``load`` reads
    either) and implements
    ``fitted_state() -> (shapes {"n_users", "n_items"}, arrays)`` and
    ``restore(shapes, arrays, device)``.
    """

    file_kind = "npz"

    def fitted_state(self) -> tuple[dict[str, int], dict[str, Any]]:  # pragma: no cover
        raise NotImplementedError

    def restore(self, shapes: dict[str, int], arrays: dict[str, Any], device: str) -> None:  # pragma: no cover
        raise NotImplementedError

    def save(self, path: str | Path) -> None:
        """Write the fitted model to ``path`` (the file is exactly ``path``)."""
        shapes, arrays = self.fitted_state()
        header = make_header(self, shapes)
        (write_weights if self.file_kind == "torch" else write_arrays)(Path(path), header, arrays)

    @classmethod
    def load(cls, path: str | Path, *, n_items: int | None = None, device: str = "cpu") -> Any:
        """The model saved at ``path``, ready to score on ``device``.

        ModelError when the file is not a model file, holds another model class, or (when
        ``n_items`` is given) was fitted on another number of items.
        """
        path = Path(path)
        if not path.is_file():
            raise ModelError(f"{path}: no such model file")
        text, arrays = read_model_file(path)
        header = check_header(text, cls, path, n_items)
        model = cls(**header["params"])
        model.restore(header["shapes"], arrays, device)
        return model
