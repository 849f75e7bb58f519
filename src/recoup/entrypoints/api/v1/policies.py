"""``GET /policies`` (the loaded policy pack and its decision tables), ``POST
/policies/validate`` and ``POST /policies/backtest`` (a candidate pack uploaded as a zip of the
folder or as its JSON files).

An uploaded pack is unpacked into a private temporary folder and loaded exactly as
``recoup policy validate`` loads a folder; nothing of it is kept.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

from fastapi import APIRouter, File, Query, UploadFile
from pydantic import BaseModel, Field

from recoup.adapters.policy import DEFAULT_POLICY_PATH, PolicyError, load_policy
from recoup.adapters.policy.engine import ZenPolicy
from recoup.adapters.policy.loading import read_files
from recoup.domain.errors import InvalidInputError, Location
from recoup.entrypoints.api.deps import Admin, AppDep, Reader
from recoup.entrypoints.api.v1.common import READ_ERRORS, amount, problems
from recoup.services.policy import backtest

router = APIRouter(tags=["policies"])

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_UNPACKED_BYTES = 20 * 1024 * 1024
MAX_FILES = 200
UPLOAD_ERRORS = problems(401, 403, 422)


class TableOut(BaseModel):
    file: str
    name: str
    description: str | None
    hit_policy: str | None
    inputs: list[str] = Field(description="the fields each row tests")
    outputs: list[str]
    rules: int


class PolicyOut(BaseModel):
    path: str
    version: str = Field(description="sha256 of the pack's files: changes with any edit")
    files: list[str]
    tables: list[TableOut]
    ladders: list[str] = Field(description="finding types with a recovery ladder")


class PolicyProblem(BaseModel):
    file: str | None = Field(description="the file of the pack, when the problem names one")
    message: str


class ValidationOut(BaseModel):
    valid: bool
    version: str | None
    files: list[str]
    problems: list[PolicyProblem]


class Shift(BaseModel):
    before: str | None
    after: str | None
    cases: int


class MoneyOut(BaseModel):
    amount: str
    currency: str


class ChangedCase(BaseModel):
    case_id: str
    type: str
    entity: str
    amount: str | None
    currency: str | None
    changes: dict[str, list[Any]] = Field(description="output -> [before, after]")


class BacktestOut(BaseModel):
    version: str
    cases: int = Field(description="cases re-decided")
    changed: int
    by_output: dict[str, int]
    tier_shifts: list[Shift]
    owner_changes: list[Shift]
    newly_written_off: list[MoneyOut]
    no_longer_written_off: list[MoneyOut]
    changed_cases: list[ChangedCase] = Field(description="the first `show` changed cases")


def version_of(texts: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for key in sorted(texts):
        digest.update(key.encode() + b"\x00" + texts[key].encode() + b"\x00")
    return "sha256:" + digest.hexdigest()[:16]


def _tables(texts: dict[str, str], graphs: dict[str, Any]) -> list[dict[str, Any]]:
    tables = []
    for key in sorted(graphs):
        nodes = graphs[key].get("nodes", []) if isinstance(graphs[key], dict) else []
        for node in nodes:
            if not isinstance(node, dict) or node.get("type") != "decisionTableNode":
                continue
            content = node.get("content") or {}
            tables.append({
                "file": key, "name": str(node.get("name")), "description": node.get("description"),
                "hit_policy": content.get("hitPolicy"),
                "inputs": [str(i.get("field") or i.get("name")) for i in content.get("inputs", [])],
                "outputs": [str(o.get("field")) for o in content.get("outputs", [])],
                "rules": len(content.get("rules", [])),
            })  # fmt: skip
    return tables


@router.get("/policies", response_model=PolicyOut, dependencies=[Reader], responses=READ_ERRORS,
            summary="The loaded policy: version and decision tables")  # fmt: skip
def show_policy(app: AppDep) -> dict[str, Any]:
    path = Path(app.settings.policy.path or DEFAULT_POLICY_PATH)
    texts, graphs, _problems = read_files(path)
    return {"path": str(path), "version": version_of(texts), "files": sorted(texts),
            "tables": _tables(texts, graphs),
            "ladders": sorted(app.policy.ladders)}  # fmt: skip


# -- uploads -----------------------------------------------------------------------------------


def _safe_name(name: str) -> str | None:
    """A relative path inside the pack, or None for what is not a pack file."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise InvalidInputError(f"{name!r} points outside the policy folder",
                                location=Location(field="files"))  # fmt: skip
    if path.suffix.lower() != ".json" or any(p.startswith(".") for p in path.parts):
        return None
    return path.as_posix()


def _unpack(uploads: list[UploadFile]) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    total = 0
    for upload in uploads:
        data = upload.file.read(MAX_UPLOAD_BYTES + 1)
        total += len(data)
        if total > MAX_UPLOAD_BYTES:
            raise InvalidInputError(f"the upload is larger than {MAX_UPLOAD_BYTES:,} bytes",
                                    location=Location(field="files"))  # fmt: skip
        name = upload.filename or ""
        if name.lower().endswith(".zip") or data[:4] == b"PK\x03\x04":
            files.update(_unzip(data))
            continue
        safe = _safe_name(PurePosixPath(name.replace("\\", "/")).name)
        if safe is None:
            raise InvalidInputError(f"{name!r} is neither a .json file nor a .zip",
                                    location=Location(field="files"))  # fmt: skip
        files[safe] = data
    if not files:
        raise InvalidInputError("the upload holds no .json file", location=Location(field="files"))
    return files


def _unzip(data: bytes) -> dict[str, bytes]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [m for m in archive.infolist() if not m.is_dir()]
    except (zipfile.BadZipFile, ValueError, OSError):
        raise InvalidInputError("not a zip file", location=Location(field="files")) from None
    if len(members) > MAX_FILES:
        raise InvalidInputError(f"the zip holds more than {MAX_FILES} files",
                                location=Location(field="files"))  # fmt: skip
    names = [(m, _safe_name(m.filename)) for m in members]
    wanted = [(m, n) for m, n in names if n is not None]
    if sum(m.file_size for m, _ in wanted) > MAX_UNPACKED_BYTES:
        raise InvalidInputError(f"the zip unpacks to more than {MAX_UNPACKED_BYTES:,} bytes",
                                location=Location(field="files"))  # fmt: skip
    # A folder zipped with its name puts every file under one top folder: drop it.
    roots = {n.split("/", 1)[0] for _, n in wanted}
    strip = len(roots) == 1 and all("/" in n for _, n in wanted)
    out: dict[str, bytes] = {}
    try:
        for member, name in wanted:
            key = name.split("/", 1)[1] if strip else name
            with archive.open(member) as handle:
                out[key] = handle.read(MAX_UNPACKED_BYTES + 1)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError) as exc:
        raise InvalidInputError(f"cannot unpack the zip: {exc}",
                                location=Location(field="files")) from None  # fmt: skip
    return out


@contextmanager
def _pack_folder(files: dict[str, bytes]) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="recoup-policy-") as folder:
        root = Path(folder)
        for name, data in files.items():
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        yield root


def _problem(text: str, folder: Path) -> dict[str, Any]:
    message = text.replace(str(folder) + "/", "").replace(str(folder), "(upload)")
    head = message.split(":", 1)[0].split(",", 1)[0].strip()
    return {"file": head if head.endswith(".json") else None, "message": message}


def _texts(files: dict[str, bytes]) -> dict[str, str]:
    return {k: v.decode("utf-8", errors="replace") for k, v in files.items()}


Uploads = Annotated[list[UploadFile], File(description="a .zip of the folder, or its .json files")]


@router.post("/policies/validate", response_model=ValidationOut, dependencies=[Admin],
             responses=UPLOAD_ERRORS, summary="Validate an uploaded policy pack")  # fmt: skip
def validate_policy(files: Uploads) -> dict[str, Any]:
    unpacked = _unpack(files)
    names = sorted(unpacked)
    with _pack_folder(unpacked) as folder:
        try:
            load_policy(folder, reuse=False)
        except PolicyError as exc:
            found = [_problem(p, folder) for p in exc.problems]
            return {"valid": False, "version": None, "files": names, "problems": found}
    return {"valid": True, "version": version_of(_texts(unpacked)), "files": names,
            "problems": []}  # fmt: skip


def _money(values: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"amount": amount(v), "currency": c} for c, v in sorted(values.items())]


@router.post("/policies/backtest", response_model=BacktestOut, dependencies=[Admin],
             responses=UPLOAD_ERRORS,
             summary="Re-decide stored cases with an uploaded candidate pack")  # fmt: skip
def backtest_policy(
    app: AppDep,
    files: Uploads,
    limit: Annotated[
        int | None, Query(ge=1, le=1_000_000, description="the oldest N cases")
    ] = None,
    show: Annotated[int, Query(ge=0, le=1_000, description="changed cases to list")] = 50,
) -> dict[str, Any]:
    unpacked = _unpack(files)
    with _pack_folder(unpacked) as folder:
        try:
            candidate: ZenPolicy = load_policy(folder, reuse=False)
        except PolicyError as exc:
            first = _problem(exc.problems[0], folder)
            raise InvalidInputError(
                f"the candidate policy is not valid: {first['message']}"
                f" ({len(exc.problems)} problem(s); POST /policies/validate "
                "lists them)",
                location=Location(file=first["file"], field="files"),
            ) from None
    report = backtest(candidate, current=app.policy, reader=app.reader, limit=limit)
    return {
        "version": version_of(_texts(unpacked)), "cases": report.cases,
        "changed": len(report.changed), "by_output": dict(report.by_output),
        "tier_shifts": [{"before": a, "after": b, "cases": n}
                        for (a, b), n in sorted(report.tier_shifts.items())],
        "owner_changes": [{"before": a, "after": b, "cases": n}
                          for (a, b), n in sorted(report.owner_changes.items())],
        "newly_written_off": _money(report.newly_written_off),
        "no_longer_written_off": _money(report.no_longer_written_off),
        "changed_cases": [{"case_id": c.case_id, "type": c.type, "entity": c.entity,
                           "amount": amount(c.amount), "currency": c.currency,
                           "changes": {k: list(v) for k, v in c.changes.items()}}
                          for c in report.changed[:show]],
    }  # fmt: skip
