"""A fake Databricks workspace on 127.0.0.1 for the step launcher, with a local-subprocess "cluster".

It implements the REST calls ``databricks_pyspark_step_launcher`` makes through databricks-sdk:

- DBFS API 2.0, backed by a local directory: ``create`` / ``add-block`` / ``close`` (how the launcher uploads),
  ``put``, ``read`` (how it polls the events file and reads stdout/stderr), ``get-status``, ``list``,
  ``mkdirs``, ``delete``, ``move``. A missing path answers 404 ``RESOURCE_DOES_NOT_EXIST``, as Databricks does.
- Jobs API 2.1 and 2.2 (databricks-sdk 0.60 calls 2.2): ``runs/submit``, ``runs/get`` (``PENDING`` -> ``RUNNING``
  -> ``TERMINATED`` with ``SUCCESS``/``FAILED``), ``runs/get-output``, ``runs/cancel``.
- ``clusters/get`` (a running cluster without log delivery).
- Bearer-token authentication: any other token gets 401.

The "cluster" runs a submitted ``spark_python_task`` in a subprocess (``sys.executable``) through
:func:`cluster_main`, which maps ``dbfs:/...`` and ``/dbfs/...`` paths to the local DBFS directory, provides the
runtime's ``dbutils`` (only ``dbutils.secrets.get``, from the fake's secret scopes) and ``sc`` (None) globals the
step main script expects, sets ``DATABRICKS_RUNTIME_VERSION`` and re-applies the fake cluster's ``pinned_env``
after the launcher's environment setup (so a test can run the step on the embedded engine with local paths,
where a real cluster would use Unity Catalog and the Volume).
"""
from __future__ import annotations

import base64
import json
import os
import runpy
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

CLUSTER_ID = "0101-000000-fakecluster"
RUNTIME_VERSION = "15.4.x-fake"
_PINNED_ENV = "FAKE_DATABRICKS_PINNED_ENV"  # JSON {name: value or null} applied after the launcher's env setup
_SECRETS = "FAKE_DATABRICKS_SECRETS_FILE"  # JSON {scope: {key: value}}
# Host-side configuration a real cluster would not inherit from the machine that submitted the run.
_NOT_INHERITED = ("DATABRICKS_", "EMISSION_ENV", "EMISSION_ENGINE", "EMISSION_CATALOG", "EMISSION_RESERVOIR",
                  "EMISSION_DATABRICKS_", "EMISSION_SECRET", "TIBBER_TOKEN", "NETZTRANSPARENZ_")


class ApiError(Exception):
    def __init__(self, status: int, error_code: str, message: str):
        super().__init__(message)
        self.status, self.error_code, self.message = status, error_code, message


@dataclass
class FakeRun:
    run_id: int
    run_name: str | None
    task: dict
    cluster_id: str
    submitted_at: float = field(default_factory=time.time)
    life_cycle_state: str = "PENDING"
    result_state: str | None = None
    state_message: str = "Waiting for cluster"
    process: subprocess.Popen | None = None
    pid: int | None = None
    returncode: int | None = None
    stdout: str = ""
    stderr: str = ""
    states_served: list[str] = field(default_factory=list)

    def state(self) -> dict:
        state = {"life_cycle_state": self.life_cycle_state, "state_message": self.state_message}
        if self.result_state:
            state["result_state"] = self.result_state
        return state


class FakeDatabricks:
    """The fake workspace. ``base_url`` is what ``DATABRICKS_HOST`` should be; ``token`` the accepted token."""

    def __init__(self, root: Path, *, token: str = "fake-token", secrets: dict[str, dict[str, str]] | None = None,
                 pinned_env: dict[str, str | None] | None = None, pending_seconds: float = 0.3,
                 run_timeout: float = 300.0):
        self.root = Path(root)
        self.dbfs_root = self.root / "dbfs"
        self.cluster_dir = self.root / "cluster"
        self.dbfs_root.mkdir(parents=True, exist_ok=True)
        self.cluster_dir.mkdir(parents=True, exist_ok=True)
        self.token = token
        self.secrets = secrets or {}
        self.pinned_env = pinned_env or {}
        self.pending_seconds = pending_seconds
        self.run_timeout = run_timeout
        self.requests: list[tuple[str, str]] = []
        self.runs: dict[int, FakeRun] = {}
        self._handles: dict[int, tuple[Path, bytearray]] = {}
        self._next_handle = 1
        self._lock = threading.Lock()
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # --- lifecycle ---------------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> FakeDatabricks:
        self._thread.start()
        return self

    def stop(self) -> None:
        for run in self.runs.values():
            if run.process is not None and run.process.poll() is None:
                run.process.kill()
        self._server.shutdown()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def calls(self, prefix: str = "") -> list[str]:
        return [f"{m} {p}" for m, p in self.requests if p.startswith(prefix)]

    # --- HTTP --------------------------------------------------------------------------------------------------

    def _wsgi(self, environ, start_response):
        request = Request(environ)
        self.requests.append((request.method, request.path))
        try:
            if request.headers.get("Authorization") != f"Bearer {self.token}":
                raise ApiError(401, "UNAUTHENTICATED", "Invalid access token.")
            body = (request.get_json(silent=True) or {}) if request.method != "GET" else {}
            params = {**request.args.to_dict(), **body}
            payload = self._dispatch(request.method, request.path, params)
            response = Response(json.dumps(payload), status=200, mimetype="application/json")
        except ApiError as error:
            response = Response(json.dumps({"error_code": error.error_code, "message": error.message}),
                                status=error.status, mimetype="application/json")
        return response(environ, start_response)

    def _dispatch(self, method: str, path: str, params: dict) -> dict:
        routes = {
            ("POST", "/api/2.0/dbfs/create"): self._dbfs_create,
            ("POST", "/api/2.0/dbfs/add-block"): self._dbfs_add_block,
            ("POST", "/api/2.0/dbfs/close"): self._dbfs_close,
            ("POST", "/api/2.0/dbfs/put"): self._dbfs_put,
            ("GET", "/api/2.0/dbfs/read"): self._dbfs_read,
            ("GET", "/api/2.0/dbfs/get-status"): self._dbfs_get_status,
            ("GET", "/api/2.0/dbfs/list"): self._dbfs_list,
            ("POST", "/api/2.0/dbfs/mkdirs"): self._dbfs_mkdirs,
            ("POST", "/api/2.0/dbfs/delete"): self._dbfs_delete,
            ("POST", "/api/2.0/dbfs/move"): self._dbfs_move,
            ("GET", "/api/2.0/clusters/get"): self._clusters_get,
            ("GET", "/api/2.1/clusters/get"): self._clusters_get,
        }
        for version in ("2.1", "2.2"):
            routes[("POST", f"/api/{version}/jobs/runs/submit")] = self._runs_submit
            routes[("GET", f"/api/{version}/jobs/runs/get")] = self._runs_get
            routes[("GET", f"/api/{version}/jobs/runs/get-output")] = self._runs_get_output
            routes[("POST", f"/api/{version}/jobs/runs/cancel")] = self._runs_cancel
        handler = routes.get((method, path))
        if handler is None:
            raise ApiError(404, "ENDPOINT_NOT_FOUND", f"No API found for '{method} {path}'")
        return handler(params)

    # --- DBFS --------------------------------------------------------------------------------------------------

    def local_path(self, dbfs_path: str) -> Path:
        """``dbfs:/x``, ``dbfs:///x``, ``/dbfs/x`` or ``/x`` -> ``<root>/dbfs/x``."""
        path = dbfs_path
        if path.startswith("dbfs:"):
            path = path[len("dbfs:"):]
        elif path.startswith("/dbfs/"):
            path = path[len("/dbfs/"):]
        parts = [p for p in path.split("/") if p not in ("", ".")]
        if ".." in parts:
            raise ApiError(400, "INVALID_PARAMETER_VALUE", f"invalid path {dbfs_path!r}")
        return self.dbfs_root.joinpath(*parts)

    def _existing(self, params: dict) -> Path:
        path = self.local_path(params.get("path", ""))
        if not path.exists():
            raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"No file or directory exists on path {params.get('path')}.")
        return path

    def _dbfs_create(self, params: dict) -> dict:
        path = self.local_path(params["path"])
        if path.exists() and not params.get("overwrite"):
            raise ApiError(400, "RESOURCE_ALREADY_EXISTS", f"A file or directory already exists at {params['path']}.")
        with self._lock:
            handle = self._next_handle
            self._next_handle += 1
            self._handles[handle] = (path, bytearray())
        return {"handle": handle}

    def _dbfs_add_block(self, params: dict) -> dict:
        handle = int(params["handle"])
        if handle not in self._handles:
            raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"unknown handle {handle}")
        self._handles[handle][1].extend(base64.b64decode(params.get("data", "")))
        return {}

    def _dbfs_close(self, params: dict) -> dict:
        handle = int(params["handle"])
        with self._lock:
            if handle not in self._handles:
                raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"unknown handle {handle}")
            path, data = self._handles.pop(handle)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(bytes(data))
        return {}

    def _dbfs_put(self, params: dict) -> dict:
        path = self.local_path(params["path"])
        if path.exists() and not params.get("overwrite"):
            raise ApiError(400, "RESOURCE_ALREADY_EXISTS", f"A file or directory already exists at {params['path']}.")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(params.get("contents", "")))
        return {}

    def _dbfs_read(self, params: dict) -> dict:
        path = self._existing(params)
        if path.is_dir():
            raise ApiError(400, "INVALID_PARAMETER_VALUE", f"{params['path']} is a directory")
        offset, length = int(params.get("offset") or 0), int(params.get("length") or 512 * 1024)
        with path.open("rb") as handle:
            handle.seek(offset)
            data = handle.read(length)
        return {"bytes_read": len(data), "data": base64.b64encode(data).decode()}

    def _status(self, path: Path) -> dict:
        stat = path.stat()
        dbfs = "/" + path.relative_to(self.dbfs_root).as_posix()
        return {"path": dbfs, "is_dir": path.is_dir(), "file_size": 0 if path.is_dir() else stat.st_size,
                "modification_time": int(stat.st_mtime * 1000)}

    def _dbfs_get_status(self, params: dict) -> dict:
        return self._status(self._existing(params))

    def _dbfs_list(self, params: dict) -> dict:
        path = self._existing(params)
        children = sorted(path.iterdir()) if path.is_dir() else [path]
        return {"files": [self._status(child) for child in children]}

    def _dbfs_mkdirs(self, params: dict) -> dict:
        self.local_path(params["path"]).mkdir(parents=True, exist_ok=True)
        return {}

    def _dbfs_delete(self, params: dict) -> dict:
        path = self.local_path(params["path"])
        if path.is_dir():
            if any(path.iterdir()) and not params.get("recursive"):
                raise ApiError(400, "IO_ERROR", f"{params['path']} is a non-empty directory")
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
        return {}

    def _dbfs_move(self, params: dict) -> dict:
        source = self._existing({"path": params["source_path"]})
        target = self.local_path(params["destination_path"])
        target.parent.mkdir(parents=True, exist_ok=True)
        source.rename(target)
        return {}

    # --- clusters ----------------------------------------------------------------------------------------------

    def _clusters_get(self, params: dict) -> dict:
        return {"cluster_id": params.get("cluster_id", CLUSTER_ID), "state": "RUNNING",
                "spark_version": RUNTIME_VERSION, "cluster_name": "fake"}

    # --- jobs --------------------------------------------------------------------------------------------------

    def _runs_submit(self, params: dict) -> dict:
        tasks = params.get("tasks") or []
        if len(tasks) != 1 or "spark_python_task" not in tasks[0]:
            raise ApiError(400, "INVALID_PARAMETER_VALUE", "the fake runs exactly one spark_python_task")
        task = tasks[0]
        if not task.get("existing_cluster_id") and not task.get("new_cluster"):
            raise ApiError(400, "INVALID_PARAMETER_VALUE", "a task needs existing_cluster_id or new_cluster")
        with self._lock:
            run = FakeRun(run_id=len(self.runs) + 1, run_name=params.get("run_name"), task=task,
                          cluster_id=task.get("existing_cluster_id") or CLUSTER_ID)
            self.runs[run.run_id] = run
        threading.Thread(target=self._execute, args=(run,), daemon=True).start()
        return {"run_id": run.run_id}

    def _run(self, params: dict) -> FakeRun:
        run = self.runs.get(int(params.get("run_id") or 0))
        if run is None:
            raise ApiError(400, "INVALID_PARAMETER_VALUE", f"Run {params.get('run_id')} does not exist.")
        return run

    def _run_json(self, run: FakeRun) -> dict:
        task = {"task_key": run.task.get("task_key"), "run_id": run.run_id + 1000, "state": run.state(),
                "spark_python_task": run.task["spark_python_task"],
                "cluster_instance": {"cluster_id": run.cluster_id, "spark_context_id": "1"}}
        return {"job_id": 9000 + run.run_id, "run_id": run.run_id, "run_name": run.run_name,
                "state": run.state(), "tasks": [task], "cluster_instance": task["cluster_instance"],
                "run_page_url": f"{self.base_url}/#job/{9000 + run.run_id}/run/{run.run_id}",
                "start_time": int(run.submitted_at * 1000)}

    def _runs_get(self, params: dict) -> dict:
        run = self._run(params)
        run.states_served.append(run.life_cycle_state)
        return self._run_json(run)

    def _runs_get_output(self, params: dict) -> dict:
        run = self._run(params)
        out: dict[str, Any] = {"metadata": self._run_json(run), "logs": run.stdout[-5000:]}
        if run.result_state == "FAILED":
            lines = [line for line in run.stderr.splitlines() if line.strip()]
            out["error"] = lines[-1] if lines else run.state_message
            out["error_trace"] = run.stderr
        return out

    def _runs_cancel(self, params: dict) -> dict:
        run = self._run(params)
        if run.process is not None and run.process.poll() is None:
            run.process.kill()
        if run.life_cycle_state != "TERMINATED":
            run.life_cycle_state, run.result_state, run.state_message = "TERMINATED", "CANCELED", "Run cancelled."
        return {}

    def _execute(self, run: FakeRun) -> None:
        time.sleep(self.pending_seconds)  # "cluster attaching"
        if run.result_state == "CANCELED":
            return
        python_file = self.local_path(run.task["spark_python_task"]["python_file"])
        parameters = run.task["spark_python_task"].get("parameters") or []
        work = self.cluster_dir / f"run_{run.run_id}"
        work.mkdir(parents=True, exist_ok=True)
        secrets_file = work / "secrets.json"
        secrets_file.write_text(json.dumps(self.secrets))
        env = {k: v for k, v in os.environ.items() if not k.startswith(_NOT_INHERITED)}
        env.update({"DATABRICKS_RUNTIME_VERSION": RUNTIME_VERSION, _PINNED_ENV: json.dumps(self.pinned_env),
                    _SECRETS: str(secrets_file), "FAKE_DATABRICKS_DBFS_ROOT": str(self.dbfs_root)})
        # Run as a script, not with -m: the cluster imports the project's test package only from the uploaded zip.
        command = [sys.executable, str(Path(__file__).resolve()), str(python_file), *parameters]
        run.life_cycle_state, run.state_message = "RUNNING", "In run"
        with open(work / "stdout", "wb") as out, open(work / "stderr", "wb") as err:
            run.process = subprocess.Popen(command, cwd=work, env=env, stdout=out, stderr=err)
            run.pid = run.process.pid
            try:
                run.returncode = run.process.wait(timeout=self.run_timeout)
            except subprocess.TimeoutExpired:
                run.process.kill()
                run.returncode = run.process.wait()
        run.stdout = (work / "stdout").read_text(errors="replace")
        run.stderr = (work / "stderr").read_text(errors="replace")
        if run.result_state == "CANCELED":
            return
        if run.returncode == 0:
            run.result_state, run.state_message = "SUCCESS", ""
        else:
            # What Databricks says for a failed Python task; the exception is in runs/get-output and the logs.
            run.result_state, run.state_message = "FAILED", "Workload failed, see run output for details"
        run.life_cycle_state = "TERMINATED"


# --- the cluster side (runs in the subprocess) -------------------------------------------------------------------

class _Secrets:
    def __init__(self, scopes: dict[str, dict[str, str]]):
        self._scopes = scopes

    def get(self, scope: str, key: str) -> str:
        if scope not in self._scopes:
            raise RuntimeError(f"Secret scope {scope!r} does not exist")
        if key not in self._scopes[scope]:
            raise RuntimeError(f"Secret does not exist with scope: {scope} and key: {key}")
        return self._scopes[scope][key]


class FakeDbutils:
    def __init__(self, scopes: dict[str, dict[str, str]]):
        self.secrets = _Secrets(scopes)


def _apply_pinned_env() -> None:
    for name, value in json.loads(os.environ.get(_PINNED_ENV) or "{}").items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def cluster_main(argv: list[str]) -> None:
    """Run a ``spark_python_task`` file the way the Databricks runtime would: ``/dbfs/`` paths mounted, and the
    ``dbutils`` and ``sc`` globals defined."""
    root = Path(os.environ["FAKE_DATABRICKS_DBFS_ROOT"])

    def mount(arg: str) -> str:
        if arg.startswith("/dbfs/"):
            return str(root.joinpath(*[p for p in arg[len("/dbfs/"):].split("/") if p]))
        return arg

    python_file, parameters = argv[0], [mount(a) for a in argv[1:]]
    scopes = json.loads(Path(os.environ[_SECRETS]).read_text())
    from dagster_databricks.databricks_pyspark_step_launcher import DatabricksConfig

    original_setup = DatabricksConfig.setup

    def setup(self, dbutils, sc):
        original_setup(self, dbutils, sc)
        _apply_pinned_env()  # the fake cluster's environment wins over the launcher's

    DatabricksConfig.setup = setup
    sys.argv = [python_file, *parameters]
    runpy.run_path(python_file, init_globals={"dbutils": FakeDbutils(scopes), "sc": None}, run_name="__main__")


if __name__ == "__main__":
    cluster_main(sys.argv[1:])
