"""The notebook client every tool of this repository executes chapters with.

It is nbclient's ``NotebookClient`` with one repair. With ipykernel 7.4 (the locked version) a
cell's ``execute_reply`` on the shell channel now and then never reaches the client, although the kernel ran the cell and IOPub delivered its outputs and its final
``status: idle``. Seen on the 2-core test machine in chapter 4 on 2026-11-27: the kernel idle at
0% CPU, its execution count past the cell, nbclient's IOPub task finished and its reply task
waiting, until the 600 s cell timeout threw the whole chapter away (a known family of
ipykernel 7 hangs, e.g. ipython/ipykernel#1554 and microsoft/vscode-jupyter#17228). Whether it is
specific to ipykernel 7 is not known: ``tools/kernel_soak.py`` ran 30 chapter executions with 7.4.0
and 30 with 6.29.5 and lost no reply with either (``benchmarks/kernel_soak.json``), so 7.4.0 stays
locked and the repair stays, for nbval too (:func:`guard_nbval`).

The messaging protocol sends ``status: idle`` on IOPub after the kernel has handled the request,
so once it has come, the reply carries nothing that IOPub did not already show. When the reply
is still missing ``lost_reply_grace`` seconds after the idle status, this client builds it from
the cell's outputs (``status: error`` with the error output's name, value and traceback if the
cell raised, ``ok`` otherwise), counts it in ``lost_replies`` and goes on.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import warnings
from typing import Any

from nbclient import NotebookClient
from nbformat import NotebookNode


class ReplyTolerantClient(NotebookClient):
    """``NotebookClient`` that ends a cell whose ``execute_reply`` was lost after its IOPub idle."""

    lost_reply_grace: float = 30.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lost_replies = 0

    async def _async_poll_for_reply(self, msg_id: str, cell: NotebookNode, timeout: int | None,
                                    task_poll_output_msg: asyncio.Future, task_poll_kernel_alive: asyncio.Future
                                    ) -> dict[str, Any]:
        reply = asyncio.ensure_future(super()._async_poll_for_reply(
            msg_id, cell, timeout, task_poll_output_msg, task_poll_kernel_alive))
        idle_since: float | None = None
        while True:
            done, _ = await asyncio.wait({reply}, timeout=1.0)
            if done:
                return reply.result()
            if idle_since is None:
                if task_poll_output_msg.done() and not task_poll_output_msg.cancelled() \
                        and task_poll_output_msg.exception() is None:
                    idle_since = time.monotonic()
            elif time.monotonic() - idle_since > self.lost_reply_grace:
                reply.cancel()
                task_poll_kernel_alive.cancel()
                self.lost_replies += 1
                print(f"kernel_client: no execute_reply {self.lost_reply_grace:.0f} s after the kernel went idle "
                      f"on a cell; its reply is built from the IOPub outputs", file=sys.stderr, flush=True)
                return reply_from_outputs(msg_id, cell)


def reply_from_outputs(msg_id: str, cell: NotebookNode) -> dict[str, Any]:
    """The ``execute_reply`` a cell's IOPub outputs imply: ``error`` with the first error output's
    fields if it raised, ``ok`` otherwise."""
    errors = [out for out in cell.get("outputs", []) if out.get("output_type") == "error"]
    if errors:
        content = {"status": "error", "ename": errors[0].get("ename", ""), "evalue": errors[0].get("evalue", ""),
                   "traceback": errors[0].get("traceback", [])}
    else:
        content = {"status": "ok", "execution_count": cell.get("execution_count"), "payload": [],
                   "user_expressions": {}}
    return {"msg_type": "execute_reply", "header": {}, "parent_header": {"msg_id": msg_id}, "metadata": {},
            "content": content}


def guard_nbval(grace: float = 30.0) -> None:
    """Give nbval the same repair: a cell whose ``execute_reply`` is still missing ``grace`` seconds
    after the kernel went idle ends there, with a message on stderr, and is judged by its outputs.

    nbval waits for the reply on the shell channel before it reads the cell's outputs from IOPub,
    so a lost reply left it waiting until ``--nbval-cell-timeout``. The guarded wait reads IOPub
    meanwhile, keeps what it read for nbval to read next (in order), and notices the idle status.
    Installed by ``notebooks/conftest.py``; calling it twice changes nothing.
    """
    from collections import deque
    from queue import Empty

    from nbval.kernel import RunningKernel

    if getattr(RunningKernel, "lost_reply_guard", False):
        return
    raw_get = RunningKernel.get_message

    def get_message(self: RunningKernel, stream: str, timeout: float | None = None) -> dict[str, Any]:
        kept = self.__dict__.setdefault("kept_iopub", deque())
        if stream == "iopub" and kept:
            return kept.popleft()
        return raw_get(self, stream, timeout=timeout)

    def await_reply(self: RunningKernel, msg_id: str, timeout: float | None = None) -> None:
        kept = self.__dict__.setdefault("kept_iopub", deque())
        start, idle_since = time.monotonic(), None
        while True:
            try:
                msg = raw_get(self, "shell", timeout=0.2)
                if msg["parent_header"].get("msg_id") == msg_id:
                    if msg["content"]["status"] == "aborted":
                        raise RuntimeError("Kernel aborted execution request")
                    return
                continue
            except Empty:
                pass
            while True:  # what IOPub has now, kept in order for nbval
                try:
                    msg = raw_get(self, "iopub", timeout=0)
                except Empty:
                    break
                kept.append(msg)
                if (msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "status"
                        and msg["content"].get("execution_state") == "idle"):
                    idle_since = time.monotonic()
            now = time.monotonic()
            if idle_since is not None and now - idle_since > grace:
                self.lost_replies = getattr(self, "lost_replies", 0) + 1
                note = (f"nbval guard: no execute_reply {grace:.0f} s after the kernel went idle on a cell; "
                        "the cell is judged by its outputs")
                print(f"\n{note}", file=sys.stderr, flush=True)
                warnings.warn(note, RuntimeWarning, stacklevel=2)  # listed in pytest's warnings summary
                return
            if timeout is not None and now - start > timeout:
                raise Empty

    RunningKernel.get_message = get_message
    RunningKernel.await_reply = await_reply
    RunningKernel.lost_reply_guard = True


KERNEL_ENV = {"COURSE_PROGRESS": "0"}  # every executed chapter: no progress bars in its outputs


def execute_notebook(nb: NotebookNode, folder: Any, *, timeout: int | None = 1200, env: dict[str, str] | None = None,
                     allow_errors: bool = False, grace: float | None = None) -> tuple[float, ReplyTolerantClient]:
    """Execute ``nb`` in place, in a fresh kernel started in ``folder``: the one way the tools run a chapter.

    The kernel inherits this process's environment with :data:`KERNEL_ENV` and ``env`` added (a value
    of ``None`` removes the variable), restored afterwards. ``timeout`` bounds each cell; a lost
    ``execute_reply`` ends its cell after ``grace`` seconds (default the client's). Returns the wall
    seconds and the client (``lost_replies``). Raises what nbclient raises for a failing cell unless
    ``allow_errors``.
    """
    saved = dict(os.environ)
    for key, value in {**KERNEL_ENV, **(env or {})}.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    client = ReplyTolerantClient(nb, timeout=timeout, kernel_name="python3", allow_errors=allow_errors,
                                 record_timing=False, resources={"metadata": {"path": str(folder)}})
    if grace is not None:
        client.lost_reply_grace = grace
    start = time.perf_counter()
    try:
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return time.perf_counter() - start, client
