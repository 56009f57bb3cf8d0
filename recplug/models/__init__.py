"""Built-in models, registered under the ``recplug.models`` entry points like any plugin.

========  =====================================  =======================================
name      class                                  idea
========  =====================================  =======================================
pop       :class:`~recplug.models.baselines.pop.Popularity`  distinct users per item, same for all
itemknn   :class:`~recplug.models.baselines.itemknn.ItemKNN` shrunk item-item cosine, top-k neighbours
ease      :class:`~recplug.models.baselines.ease.EASE`       closed-form linear autoencoder (Steck 2019)
bpr       :class:`~recplug.models.mf.bpr.BPR`                matrix factorisation, BPR loss (Rendle 2009)
sasrec    :class:`~recplug.models.sequential.sasrec.SASRec`  self-attentive next-item model (Kang 2018)
========  =====================================  =======================================

Import a model from its own module; this package imports nothing heavy. The scaffold
for new models (built-in or plugin) is public here, imported on first use:
:class:`SavedModel` (save/load with a JSON header), :class:`ArrayModel` (non-torch models
whose fitted state is named arrays), :class:`TorchModel` (the torch fit skeleton) and
:class:`TorchFactorModel` (dot-product models with declared factors).
"""

_SCAFFOLD = {"SavedModel": "recplug.models._files", "ArrayModel": "recplug.models._arrays",
             "TorchModel": "recplug.models._torch",
             "TorchFactorModel": "recplug.models._factors"}
__all__ = sorted(_SCAFFOLD)


def __getattr__(name: str):
    if name in _SCAFFOLD:
        import importlib

        return getattr(importlib.import_module(_SCAFFOLD[name]), name)
    raise AttributeError(f"module 'recplug.models' has no attribute {name!r}")
