"""tools/kernel_client.py: a cell whose execute_reply never arrives (simulated by dropping it on
the client's shell channel) still ends, with its outputs, its error if it raised, and the rest of
the notebook run; a normal run loses nothing."""

from __future__ import annotations

import nbformat
import pytest
from nbclient.exceptions import CellExecutionError

from tools.kernel_client import ReplyTolerantClient  # noqa: E402


def _notebook(*sources: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])


def _client(nb: nbformat.NotebookNode, drop_reply_of_cell: int | None) -> ReplyTolerantClient:
    """A client that throws away the execute_reply of the ``drop_reply_of_cell``-th code cell."""
    client = ReplyTolerantClient(nb, timeout=60, kernel_name="python3")
    client.lost_reply_grace = 1.0
    seen = {"cells": 0, "dropping": None}

    def on_cell_complete(cell, cell_index):  # the request has just been sent
        seen["cells"] += 1
        if seen["cells"] - 1 == drop_reply_of_cell:
            seen["dropping"] = client.kc.shell_channel.get_msg
            real = seen["dropping"]

            async def dropping_get_msg(*args, **kwargs):
                msg = await real(*args, **kwargs)
                if msg["msg_type"] == "execute_reply":
                    client.kc.shell_channel.get_msg = real  # drop this one reply only
                    return await real(*args, **kwargs)  # waits, as a lost reply leaves it waiting
                return msg

            client.kc.shell_channel.get_msg = dropping_get_msg

    client.on_cell_complete = on_cell_complete
    return client


@pytest.mark.slow
def test_a_lost_reply_ends_the_cell_and_the_notebook_goes_on():
    nb = _notebook("x = 6 * 7\nprint(x)", "print(x + 1)")
    client = _client(nb, drop_reply_of_cell=0)
    client.execute()
    assert client.lost_replies == 1
    assert nb.cells[0].outputs[0]["text"] == "42\n"
    assert nb.cells[1].outputs[0]["text"] == "43\n"


@pytest.mark.slow
def test_a_lost_reply_of_a_cell_that_raised_still_raises():
    nb = _notebook("raise ValueError('planted')", "print('not reached')")
    client = _client(nb, drop_reply_of_cell=0)
    with pytest.raises(CellExecutionError, match="planted"):
        client.execute()
    assert client.lost_replies == 1


@pytest.mark.slow
def test_a_normal_run_loses_no_reply():
    nb = _notebook("print(1)")
    client = ReplyTolerantClient(nb, timeout=60, kernel_name="python3")
    client.execute()
    assert client.lost_replies == 0 and nb.cells[0].outputs[0]["text"] == "1\n"
