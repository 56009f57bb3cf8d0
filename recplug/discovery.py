"""Find, load and validate model plugins (DESIGN.md §6), the way flake8 finds its checks.

Every model, built-in or third-party, is a class registered under the entry-point group
``recplug.models``. Discovery has three steps, each done at most once and cached:

1. *find*: read entry points from the installed distributions' metadata (no imports);
2. *load*: import each target, guarded: any exception (``ImportError``, ``SyntaxError``,
   an error raised at import time, ...) is recorded with the plugin's name, distribution
   and version, and never stops the other plugins;
3. *validate*: check the loaded class against the model contract (:func:`validate_class`).

:func:`discover` lists what is installed; :func:`load_model_class` returns one class by
name (``"sasrec"``) or qualified name (``"recplug:sasrec"``). Both spellings give the same
:attr:`PluginInfo.qualified_name`, the identity the results store keeps. A bare name that
several distributions register means the built-in one (distribution ``recplug``) when
recplug registers it, so installing a plugin never changes what ``pop`` means; a clash
between third-party distributions needs the qualified name.
"""

from __future__ import annotations

import difflib
import importlib.metadata
import inspect
import re
from dataclasses import dataclass, replace

from recplug.contract import RECPLUG_API, Model, Tags
from recplug.errors import ContractError, PluginError, UnknownModelError

GROUP = "recplug.models"
BUILTIN_DIST = "recplug"  #: the distribution whose models win a bare-name clash
SUPPORTED_APIS: frozenset[int] = frozenset({RECPLUG_API})  #: model API versions this recplug runs

OK, FAILED, INCOMPATIBLE, NOT_LOADED = "ok", "failed", "incompatible", "not loaded"
_VALID_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")  # no ':' (dist:name) nor '.' (--set name.key)


@dataclass(frozen=True)
class PluginInfo:
    """One registered model plugin and, once loaded, whether it works.

    ``status`` is ``"not loaded"`` (metadata only), ``"ok"``, ``"failed"`` (the import or
    the entry point itself failed) or ``"incompatible"`` (loaded, but breaks the contract);
    ``error`` is the cause on one line; ``tags`` are known once loaded and valid.
    """

    name: str
    qualified_name: str   #: "dist:name"
    dist: str
    version: str
    target: str           #: "module:attr"
    status: str
    error: str | None
    tags: Tags | None

    @property
    def message(self) -> str | None:
        """The full one-line problem report (None when the plugin is fine or not loaded)."""
        if self.status == FAILED:
            return f'failed to load plugin "{self.name}" from {self.dist} {self.version}: {self.error}'
        if self.status == INCOMPATIBLE:
            return (f'plugin "{self.name}" from {self.dist} {self.version} breaks the recplug '
                    f"model contract: {self.error}")
        return None


# ---- caches (module level: discovery is per process) ---------------------------------
_found: list[PluginInfo] | None = None
_loaded: dict[str, tuple[type | None, PluginInfo]] = {}
_entry_point_of: dict[str, importlib.metadata.EntryPoint] = {}


def _entry_points() -> list[importlib.metadata.EntryPoint]:
    """The raw entry points of the group: metadata only, nothing is imported."""
    return list(importlib.metadata.entry_points(group=GROUP))


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _describe(exc: BaseException) -> str:
    return _one_line(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)


def _normalize_dist(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _find() -> list[PluginInfo]:
    """Read the entry points (no imports) into ``not loaded`` PluginInfos, sorted by name."""
    global _found
    if _found is not None:
        return _found
    infos: dict[str, PluginInfo] = {}
    for ep in _entry_points():
        dist = getattr(ep, "dist", None)
        dist_name = (dist.name if dist is not None else None) or "unknown-distribution"
        version = (dist.version if dist is not None else None) or "unknown-version"
        qualified = f"{dist_name}:{ep.name}"
        if qualified in infos:  # the same distribution seen twice on the path: first one wins
            continue
        error = None
        if not _VALID_NAME.match(ep.name):
            error = (f"invalid model name {ep.name!r}: an entry point name is letters, digits, '_' "
                     "and '-' (no ':', '.' or spaces)")
        infos[qualified] = PluginInfo(
            name=ep.name, qualified_name=qualified, dist=dist_name, version=version,
            target=ep.value, status=FAILED if error else NOT_LOADED, error=error, tags=None)
        if error is None:
            _entry_point_of[qualified] = ep
    _found = sorted(infos.values(), key=lambda p: (p.name, _normalize_dist(p.dist)))
    return _found


def _load(info: PluginInfo) -> tuple[type | None, PluginInfo]:
    """Import and validate one plugin, guarded and cached; never raises for plugin faults."""
    if info.qualified_name in _loaded:
        return _loaded[info.qualified_name]
    if info.status == FAILED:  # found but unusable (e.g. an invalid name)
        result: tuple[type | None, PluginInfo] = (None, info)
    else:
        ep = _entry_point_of[info.qualified_name]
        try:
            obj = ep.load()
        except (Exception, SystemExit) as exc:  # a plugin must never take recplug down
            result = (None, replace(info, status=FAILED, error=_describe(exc)))
        else:
            try:
                validate_class(obj)
            except ContractError as exc:
                result = (None, replace(info, status=INCOMPATIBLE, error=_one_line(str(exc))))
            except Exception as exc:  # validation tripped over something exotic in the class
                result = (None, replace(info, status=INCOMPATIBLE, error=_describe(exc)))
            else:
                result = (obj, replace(info, status=OK, error=None, tags=obj.tags))
    _loaded[info.qualified_name] = result
    return result


def discover(*, load: bool = False, refresh: bool = False) -> list[PluginInfo]:
    """All registered model plugins, sorted by name then distribution.

    Lazy and cached: without ``load`` only metadata is read (status ``"not loaded"``,
    unless the plugin was loaded earlier in this process); ``load=True`` imports and
    validates each plugin, recording failures instead of raising. ``refresh=True`` drops
    the caches and reads the metadata again (after installing a plugin in-process).
    """
    global _found
    if refresh:
        _found = None
        _loaded.clear()
        _entry_point_of.clear()
    infos = _find()
    if load:
        return [_load(info)[1] for info in infos]
    return [_loaded[i.qualified_name][1] if i.qualified_name in _loaded else i for i in infos]


def _select(name: str) -> PluginInfo:
    """The one PluginInfo that ``name`` (bare or ``dist:name``) designates, or a clear error."""
    infos = _find()
    if ":" in name:
        dist, _, bare = name.partition(":")
        matches = [i for i in infos
                   if i.name == bare and _normalize_dist(i.dist) == _normalize_dist(dist)]
        choices = sorted({i.qualified_name for i in infos})
    else:
        matches = [i for i in infos if i.name == name]
        choices = sorted({i.name for i in infos})
    if len(matches) > 1 and ":" not in name:
        builtin = [m for m in matches if _normalize_dist(m.dist) == BUILTIN_DIST]
        matches = builtin or matches
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        options = ", ".join(m.qualified_name for m in matches)
        raise UnknownModelError(
            f'model name "{name}" is registered by {len(matches)} distributions '
            f"({', '.join(m.dist for m in matches)}); ask for one of: {options}")
    if not infos:
        raise UnknownModelError(
            f'unknown model "{name}": no model plugins are installed (entry-point group '
            f'"{GROUP}" is empty); reinstall recplug (pip install --no-build-isolation -e .)')
    close = difflib.get_close_matches(name, choices, n=3, cutoff=0.6)
    hint = f" Did you mean {' or '.join(close)}?" if close else ""
    raise UnknownModelError(
        f'unknown model "{name}"; available: {", ".join(choices)} (see `recplug models`).{hint}')


def load_model_class(name: str) -> tuple[type, PluginInfo]:
    """Load (guarded, validated, cached) the model class registered as ``name``.

    ``name`` is an entry-point name (``"ease"``) or ``"dist:name"``; a bare name registered
    by recplug itself and by plugins means recplug's. Raises :class:`UnknownModelError`
    for an unknown or ambiguous name (listing the choices),
    :class:`PluginError` when the plugin fails to import, :class:`ContractError` when it
    breaks the model contract; each message names the plugin, distribution and cause.
    """
    cls, info = _load(_select(name))
    if cls is None:
        error = ContractError if info.status == INCOMPATIBLE else PluginError
        raise error(info.message)
    return cls, info


# ---- contract validation --------------------------------------------------------------
def _missing_method(cls: type, method: str) -> bool:
    attr = inspect.getattr_static(cls, method, None)
    if attr is None or not callable(getattr(cls, method, None)):
        return True
    # inheriting recplug.contract.Model's placeholder (raises NotImplementedError) is "missing"
    return method in ("fit", "score") and getattr(cls, method) is getattr(Model, method)


def _init_problem(cls: type) -> str | None:
    try:
        sig = inspect.signature(cls)
    except (TypeError, ValueError) as exc:
        return f"{cls.__name__}.__init__ cannot be introspected ({_describe(exc)})"
    positional = [p.name for p in sig.parameters.values() if p.kind is p.POSITIONAL_ONLY]
    if positional:
        return (f"{cls.__name__}.__init__ takes positional-only parameter(s) {', '.join(positional)}; "
                "hyperparameters must be passable as keyword arguments")
    if any(p.kind is p.VAR_POSITIONAL for p in sig.parameters.values()):
        return (f"{cls.__name__}.__init__ takes *args; hyperparameters must be named keyword "
                "arguments so that get_params() can rebuild the model")
    return None


def contract_problems(cls: object) -> list[tuple[str, str]]:
    """Every way ``cls`` breaks the model contract, as ``(aspect, message)`` pairs.

    Aspects: ``"class"`` (not a class at all), ``"api"`` (``recplug_api`` missing, not an
    int, unsupported), ``"methods"`` (``fit``/``score``/``get_params`` missing), ``"tags"``
    (not a :class:`~recplug.contract.Tags`), ``"init"`` (``__init__`` not callable with
    keyword arguments only), ``"predict"`` (a rating model without ``predict``).
    """
    if not inspect.isclass(cls):
        return [("class", f"the entry point must name a model class, got {type(cls).__name__} "
                          f"{_one_line(repr(cls), 80)}")]
    name = cls.__name__
    problems: list[tuple[str, str]] = []
    supported = ", ".join(map(str, sorted(SUPPORTED_APIS)))
    if not hasattr(cls, "recplug_api"):
        problems.append(("api", f"{name} has no recplug_api class attribute; add "
                                f"recplug_api = recplug.contract.RECPLUG_API (currently {RECPLUG_API})"))
    else:
        api = cls.recplug_api
        if not isinstance(api, int) or isinstance(api, bool):
            problems.append(("api", f"{name}.recplug_api must be an int, got "
                                    f"{type(api).__name__} {api!r}"))
        elif api not in SUPPORTED_APIS:
            fix = ("upgrade recplug" if api > max(SUPPORTED_APIS)
                   else "upgrade the plugin to a release written for it")
            problems.append(("api", f"{name}.recplug_api is {api}, but this recplug supports API "
                                    f"version {supported}; {fix}"))
    missing = [m for m in ("fit", "score", "get_params") if _missing_method(cls, m)]
    if missing:
        problems.append(("methods", f"{name} lacks {', '.join(m + '()' for m in missing)}; a model "
                                    "implements fit(train, options), score(batch) and get_params() "
                                    "(inherit recplug.contract.Model for get_params)"))
    tags = getattr(cls, "tags", None)
    if not isinstance(tags, Tags):
        problems.append(("tags", f"{name}.tags must be a recplug.contract.Tags instance, got "
                                 f"{type(tags).__name__}"))
    elif tags.task not in ("ranking", "rating"):
        problems.append(("tags", f'{name}.tags.task must be "ranking" or "rating", got {tags.task!r}'))
    elif tags.task == "rating" and _missing_method(cls, "predict"):
        problems.append(("predict", f'{name} declares tags.task="rating" but has no '
                                    "predict(users, items)"))
    init = _init_problem(cls)
    if init:
        problems.append(("init", init))
    return problems


def validate_class(cls: object) -> None:
    """Check that ``cls`` honours the model contract; raise :class:`ContractError` otherwise.

    The message lists every problem found (see :func:`contract_problems`): ``recplug_api``
    missing, not an int or not a supported version; ``fit``/``score``/``get_params``
    missing; ``tags`` not a :class:`~recplug.contract.Tags`; ``__init__`` not callable
    with keyword arguments only; a rating model (``tags.task == "rating"``) without ``predict``.
    """
    problems = contract_problems(cls)
    if problems:
        raise ContractError("; ".join(message for _, message in problems))
