"""Fitted models as files: ``<models dir>/<version>/model.joblib`` and ``metrics.json``.

Trust boundary: joblib files are pickles, and loading a pickle runs code. Recoup only loads
model files it wrote itself, from its own models directory, and only when the file's SHA-256
equals the digest recorded in the database when the model was trained. A model file copied in
from elsewhere, or changed on disk, is refused. Never point the models directory at a place
others can write to.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import joblib  # type: ignore[import-untyped]

from recoup.adapters.assist.learner import SklearnModel
from recoup.domain.assist.model import SuggestionModel
from recoup.domain.errors import ConfigurationError, NotFoundError

MODEL_FILE = "model.joblib"
METRICS_FILE = "metrics.json"
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


_LOADED: dict[tuple[str, str], SklearnModel] = {}
"""Models already read, by (file, SHA-256): the file is hashed on every load, unpickled once."""
_MAX_LOADED = 4


class ModelDir:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _folder(self, version: str) -> Path:
        if not _VERSION.match(version):
            raise ConfigurationError(f"bad model version {version!r}")
        return self.root / version

    def save(self, model: SuggestionModel, version: str, metrics: Mapping[str, Any]) -> str:
        folder = self._folder(version)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / MODEL_FILE
        joblib.dump(model, path, compress=3)
        (folder / METRICS_FILE).write_text(
            json.dumps(dict(metrics), indent=2, sort_keys=True, default=str)
        )
        return _digest(path)

    def load(self, version: str, digest: str) -> SuggestionModel:
        path = self._folder(version) / MODEL_FILE
        if not path.is_file():
            raise NotFoundError(f"model {version}: no file {path}")
        if _digest(path) != digest:
            raise ConfigurationError(
                f"model {version}: {path} is not the file Recoup wrote (SHA-256 differs); "
                "retrain with `recoup assist train`"
            )
        key = (str(path.resolve()), digest)
        if key in _LOADED:
            return _LOADED[key]
        model = joblib.load(path)
        if not isinstance(model, SklearnModel):
            raise ConfigurationError(f"model {version}: {path} holds no assist model")
        if len(_LOADED) >= _MAX_LOADED:
            _LOADED.pop(next(iter(_LOADED)))
        _LOADED[key] = model
        return model


__all__ = ["ModelDir"]
