"""Load the app's models by import path and find their MetaData."""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import traceback
from dataclasses import dataclass

import sqlalchemy as sa

from .deadline import exits_raise
from .errors import ModelsError


@dataclass(frozen=True)
class LoadedModels:
    spec: str
    metadatas: tuple[sa.MetaData, ...]
    sources: tuple[str, ...]  # where each MetaData was found, for the log


def load_models(spec: str | None, stdout_to_stderr: bool = False) -> LoadedModels:
    """Import `pkg.mod` or `pkg.mod:attr` and return every MetaData it holds; several,
    comma separated (`app.models.core, app.models.registry`), are each imported: models
    split over modules that share one Base exist only once every module is imported.

    The attribute (or, without one, each module global) may be a MetaData, a declarative
    Base (2.0 DeclarativeBase or legacy declarative_base()), a Flask-SQLAlchemy `db` or
    SQLModel's `SQLModel`: all of them expose `.metadata`.

    `stdout_to_stderr`: what the modules print at import goes to stderr (stdout then
    carries a JSON or Markdown document alone). os._exit() at import is reported as a
    problem of the models instead of ending the process without a word.
    """
    specs = [part.strip() for part in (spec or "").split(",") if part.strip()]
    if not specs:
        raise ModelsError("no models configured", "pass --models pkg.module (or pkg.module:Base) or set SYNC_SCHEMA_MODELS")
    found: dict[int, tuple[sa.MetaData, str]] = {}
    with exits_raise(), contextlib.redirect_stdout(sys.stderr) if stdout_to_stderr else contextlib.nullcontext():
        for one in specs:
            for metadata, source in _load_one(one):
                found.setdefault(id(metadata), (metadata, source))
    joined = ", ".join(specs)
    if not any(md.tables for md, _ in found.values()):
        raise ModelsError(f"the metadata in {joined!r} has no tables", "import the modules that define your models in it")
    return LoadedModels(joined, tuple(md for md, _ in found.values()), tuple(src for _, src in found.values()))


def _load_one(spec: str) -> list[tuple[sa.MetaData, str]]:
    module_name, _, attr = spec.partition(":")
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            raise ModelsError(
                f"models module {module_name!r} not found (working directory {cwd})",
                "check --models, and run from the app's root directory",
            ) from None
        raise ModelsError(
            f"importing models module {module_name!r} failed: {_describe(exc)}",
            "install the app's dependencies first (pip install -r requirements.txt)",
        ) from None
    except BaseException as exc:  # noqa: BLE001 - an app's import can raise anything, SystemExit included
        raise ModelsError(
            f"importing models module {module_name!r} raised {_describe(exc)}",
            "fix the module so that it imports without a running app",
        ) from None

    if attr:
        try:
            target = _getattr_path(module, attr)
        except AttributeError:
            raise ModelsError(f"{module_name!r} has no attribute {attr!r}", "check the part after ':' in --models") from None
        metadata = metadata_of(target)
        if metadata is None:
            raise ModelsError(
                f"{spec} is a {type(target).__name__}, not a MetaData, declarative Base, Flask-SQLAlchemy db or SQLModel",
                "point --models at one of those",
            )
        found = [(metadata, spec)]
    else:
        found = _scan_module(module)
        if not found:
            raise ModelsError(
                f"no SQLAlchemy metadata found in {module_name!r}",
                "import your Base/db/MetaData in that module, or name it: --models module:Base",
            )
    return found


def metadata_of(obj: object) -> sa.MetaData | None:
    if isinstance(obj, sa.MetaData):
        return obj
    try:
        metadata = getattr(obj, "metadata", None)
    except Exception:  # noqa: BLE001 - properties of foreign objects may raise
        return None
    return metadata if isinstance(metadata, sa.MetaData) else None


def _scan_module(module: object) -> list[tuple[sa.MetaData, str]]:
    found: dict[int, tuple[sa.MetaData, str]] = {}
    for name, value in list(vars(module).items()):
        if name.startswith("__") or isinstance(value, type(sys)):
            continue
        metadata = metadata_of(value)
        if metadata is not None and id(metadata) not in found:
            found[id(metadata)] = (metadata, f"{module.__name__}:{name}")  # type: ignore[attr-defined]
    # A module that defines models also holds every model class, all sharing one
    # MetaData; keep the MetaData that actually has tables.
    with_tables = [item for item in found.values() if item[0].tables]
    return with_tables or list(found.values())


def _getattr_path(obj: object, path: str) -> object:
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def _describe(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {message}{where}" if message else f"{type(exc).__name__}{where}"
