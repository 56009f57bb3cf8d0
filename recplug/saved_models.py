"""Fitted models kept on disk: the scaffold's model file plus a card saying what it is.

A saved model is a folder::

    DIR/model.recplug   the model's own ``save(path)`` file (recplug.models._files)
    DIR/card.json       :class:`ModelCard`: model, hyperparameters, dataset fingerprint and
                        vocabularies, split, metrics, versions

:func:`load_model` refuses a model saved for another item (or user) vocabulary than the
data it is asked to score, so indices never silently point at other items.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from recplug.errors import ConfigError, ModelError

CARD_FORMAT = "recplug-saved-model"
CARD_VERSION = 1
MODEL_FILE = "model.recplug"
CARD_FILE = "card.json"
#: ``ModelCard.split["name"]`` of a model fitted on every interaction (``recommend --fit all``)
FIT_ALL = "all"


def vocabulary_digest(raw_ids: Any) -> str:
    """SHA-256 (hex, 16 chars) of raw ids in index order: equal exactly when the vocabulary is."""
    ids = np.asarray(raw_ids)
    digest = hashlib.sha256(ids.dtype.kind.encode())
    for raw in ids.tolist():
        digest.update(str(raw).encode())
        digest.update(b"\x1f")
    return digest.hexdigest()[:16]


@dataclass
class ModelCard:
    """What a saved model is. ``dataset``: name, fingerprint, n_users, n_items,
    user_vocabulary, item_vocabulary (digests); ``split``: name, params, seed (name ``"all"``:
    fitted on every interaction); ``fitted_on``: "train", "train+valid" or "all";
    ``metrics``: the test metrics of the run that saved it (empty if none)."""

    model: str                      #: the name it was run under ("ease", "recplug:ease")
    qualified_model: str | None     #: "dist:name" of the plugin, None for an unregistered class
    model_class: str                #: "module:QualName"
    hyperparameters: dict[str, Any]
    dataset: dict[str, Any]
    split: dict[str, Any]
    fitted_on: str
    training: dict[str, Any] = field(default_factory=dict)  #: the run's training settings
    metrics: dict[str, float] = field(default_factory=dict)
    run_id: int | None = None
    config_key: str | None = None   #: the identity of the run that saved it (store RunSpec)
    versions: dict[str, Any] = field(default_factory=dict)
    saved_at: float = field(default_factory=time.time)
    format: str = CARD_FORMAT
    version: int = CARD_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, indent=2)

    @classmethod
    def from_json(cls, text: str, where: Path) -> "ModelCard":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ModelError(f"{where} is not valid JSON ({exc}); the saved model is damaged") from None
        if not isinstance(data, dict) or data.get("format") != CARD_FORMAT:
            raise ModelError(f"{where} is not a recplug model card")
        if data.get("version") != CARD_VERSION:
            raise ModelError(f"{where} has card version {data.get('version')}, this recplug reads "
                             f"{CARD_VERSION}; save the model again")
        try:
            return cls(**data)
        except TypeError as exc:
            raise ModelError(f"{where} is a damaged model card ({exc})") from None

    @property
    def seed(self) -> int | None:
        return self.split.get("seed")

    @property
    def fold(self) -> int | None:
        return (self.split.get("params") or {}).get("fold")


def dataset_card(dataset: Any, interactions: Any | None = None) -> dict[str, Any]:
    """The ``ModelCard.dataset`` of a loaded :class:`~recplug.data.Dataset`: its name and
    fingerprint, and the vocabularies of ``interactions`` (default: the dataset's)."""
    inter = interactions if interactions is not None else dataset.interactions
    return {"name": dataset.name, "fingerprint": dataset.fingerprint(), "n_users": int(inter.n_users),
            "n_items": int(inter.n_items), "user_vocabulary": vocabulary_digest(inter.user_vocab.ids),
            "item_vocabulary": vocabulary_digest(inter.item_vocab.ids)}


def versions() -> dict[str, Any]:
    """recplug, python, numpy and torch versions (the card's ``versions``)."""
    from recplug.store import run_env

    env = run_env()
    return {key: env.get(key) for key in ("recplug", "python", "numpy", "torch", "device")}


def check_savable(name: str, cls: type) -> None:
    """ConfigError when ``cls`` cannot be saved (no ``save`` method or no ``load`` classmethod)."""
    if not callable(getattr(cls, "save", None)) or not callable(getattr(cls, "load", None)):
        raise ConfigError(f"save_model: {name} ({cls.__module__}.{cls.__qualname__}) has no save/load; "
                          "only models with save(path) and load(path) can be saved")


def run_folder(root: str | Path, model: str, seed: int | None, fold: int | None = None) -> Path:
    """Where ``--save-model ROOT`` keeps one run's model: ``ROOT/<model>-seed<seed>[-fold<f>]``."""
    stem = model.replace(":", "_")
    if seed is not None:
        stem += f"-seed{seed}"
    if fold is not None:
        stem += f"-fold{fold}"
    return Path(root).expanduser() / stem


def save_model(model: Any, directory: str | Path, card: ModelCard) -> Path:
    """Write ``model`` (its own ``save``) and ``card`` into ``directory`` (created; an older
    saved model there is replaced). Returns the folder."""
    folder = Path(directory).expanduser()
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"save_model: {folder} is a file; pass a folder")
    folder.mkdir(parents=True, exist_ok=True)
    card_path = folder / CARD_FILE
    card_path.unlink(missing_ok=True)  # no card = no saved model while the file is rewritten
    try:
        model.save(folder / MODEL_FILE)
    except NotImplementedError:
        raise ConfigError(f"save_model: {card.model} does not implement save(); it cannot be saved") from None
    tmp = card_path.with_suffix(".tmp")
    tmp.write_text(card.to_json())
    tmp.replace(card_path)
    return folder


def read_card(directory: str | Path) -> ModelCard:
    """The card of the saved model in ``directory``; ModelError when there is none."""
    folder = Path(directory).expanduser()
    card_path = folder / CARD_FILE
    if not folder.is_dir():
        raise ModelError(f"no saved model at {folder} (not a folder); save one with "
                         "`recplug eval MODEL --save-model DIR`")
    if not card_path.is_file() or not (folder / MODEL_FILE).is_file():
        raise ModelError(f"{folder} holds no saved model ({CARD_FILE} and {MODEL_FILE} expected)")
    return ModelCard.from_json(card_path.read_text(), card_path)


def check_vocabularies(card: ModelCard, interactions: Any, folder: Path) -> None:
    """ModelError when ``interactions`` index items (or users) differently than the data
    the model was fitted on."""
    for part, vocab in (("item", interactions.item_vocab), ("user", interactions.user_vocab)):
        digest = vocabulary_digest(vocab.ids)
        if card.dataset.get(f"{part}_vocabulary") != digest:
            raise ModelError(
                f"{folder} was saved for another {part} vocabulary ({card.dataset.get(f'n_{part}s')} "
                f"{part}s of dataset {card.dataset.get('name')!r}, fingerprint "
                f"{card.dataset.get('fingerprint')}), not this data's {len(vocab)} {part}s; use it "
                "with the dataset and options it was fitted on, or fit again")


def model_class(card: ModelCard, cls: type | None = None) -> type:
    """The class to load ``card``'s model with: ``cls`` when given (it must be the card's
    class), else the registered plugin the card names."""
    from recplug.models._files import qualified_name

    if cls is not None:
        if qualified_name(cls) != card.model_class:
            raise ModelError(f"the saved model is a {card.model_class}, not {qualified_name(cls)}")
        return cls
    if card.qualified_model is None:
        raise ModelError(f"the saved model's class {card.model_class} is not a registered plugin; "
                         "pass the class itself (cls=...)")
    from recplug.discovery import load_model_class

    found, _ = load_model_class(card.qualified_model)
    return found


def load_model(directory: str | Path, *, interactions: Any | None = None, device: str = "cpu",
               cls: type | None = None) -> tuple[Any, ModelCard]:
    """``(model, card)`` of the saved model in ``directory``, ready to score on ``device``.

    With ``interactions`` (the data to score), a model saved for another item or user
    vocabulary is refused (ModelError)."""
    folder = Path(directory).expanduser()
    card = read_card(folder)
    if interactions is not None:
        check_vocabularies(card, interactions, folder)
    model_cls = model_class(card, cls)
    model = model_cls.load(folder / MODEL_FILE, n_items=card.dataset.get("n_items"), device=device)
    return model, card
