"""The expunge history behind QRESYNC's VANISHED (EARLIER) is pruned to the
newest ``[server] expunge_history`` per folder (at each index backup and at
stop), and a device older than what is kept is still told the truth
(RFC 7162 §3.2.5.2): every UID it knows that is gone, never one still there."""

import re
import sqlite3

import pytest_twisted
from conftest import in_thread
from test_condstore import fill
from transcript import LOGIN, run

from cpmstore.store.account import absent_ranges
from cpmstore.store.rebuild import INDEX_FILE


def test_absent_ranges_are_the_gaps_between_present_uids_inside_the_ranges_asked():
    present = [1, 4, 5, 9, 10]
    assert absent_ranges(present, [(1, 10)]) == [(2, 3), (6, 8)]
    assert absent_ranges(present, [(3, 6), (9, 12)]) == [(3, 3), (6, 6), (11, 12)]
    assert absent_ranges(present, [(4, 5)]) == []
    assert absent_ranges([], [(1, 4294967295)]) == [(1, 4294967295)]


def _resync_lines(port: int, validity: int, modseq: int, known: bytes) -> tuple[list[bytes], list[bytes]]:
    conn = run(port, LOGIN + """
        C: e1 ENABLE QRESYNC
        S: * ENABLED QRESYNC
        S: e1 OK ...
    """)
    selected = conn.command(b"s1", b"SELECT hist (QRESYNC (%d %d %s))" % (validity, modseq, known))
    fetched = conn.command(b"f1", b"UID FETCH %s (FLAGS) (CHANGEDSINCE %d VANISHED)" % (known, modseq))
    conn.close()
    return ([l for l in selected if l.startswith(b"* VANISHED")],
            [l for l in fetched if l.startswith(b"* VANISHED")])


@pytest_twisted.ensureDeferred
async def test_pruned_history_still_tells_an_old_device_every_vanished_uid(start, tmp_path):
    data_dir = tmp_path / "data"
    server = await start(data_dir, expunge_history=2)
    marks: dict[str, int] = {}

    def before_restart():
        fill(server.port, "hist", 8)
        conn = run(server.port, LOGIN + "C: s SELECT hist (CONDSTORE)\n" + "S: ...\n" * 8 + "S: s OK ...")
        status = conn.command(b"st", b"STATUS hist (UIDVALIDITY HIGHESTMODSEQ)")[0]
        marks["validity"], marks["old"] = map(int, re.search(rb"UIDVALIDITY (\d+) HIGHESTMODSEQ (\d+)", status).groups())
        for n, uid in enumerate((2, 3, 5, 7)):
            conn.command(b"d%d" % n, b"UID STORE %d +FLAGS.SILENT (\\Deleted)" % uid)
            conn.command(b"x%d" % n, b"UID EXPUNGE %d" % uid)
            if uid == 3:
                status = conn.command(b"m%d" % n, b"STATUS hist (HIGHESTMODSEQ)")[0]
                marks["middle"] = int(re.search(rb"HIGHESTMODSEQ (\d+)", status).group(1))
        conn.close()
        # With the whole history, the answers are exact.
        assert _resync_lines(server.port, marks["validity"], marks["old"], b"1:8") == (
            [b"* VANISHED (EARLIER) 2:3,5,7"], [b"* VANISHED (EARLIER) 2:3,5,7"])

    await in_thread(before_restart)
    await server.running.stop()  # the backup at stop prunes to the newest 2 expunges
    index = sqlite3.connect(data_dir / "users" / "user1" / INDEX_FILE)
    kept = [uid for (uid,) in index.execute("SELECT uid FROM expunged ORDER BY uid")]
    index.close()
    assert kept == [5, 7]
    server = await start(data_dir, expunge_history=2)

    def after_restart():
        # Older than what is kept: every known UID that is absent now, and
        # nothing above the last UID ever given (known set 1:20).
        old = _resync_lines(server.port, marks["validity"], marks["old"], b"1:20")
        assert old == ([b"* VANISHED (EARLIER) 2:3,5,7"], [b"* VANISHED (EARLIER) 2:3,5,7"])
        # Newer than the floor: still exact, from the history kept.
        middle = _resync_lines(server.port, marks["validity"], marks["middle"], b"1:8")
        assert middle == ([b"* VANISHED (EARLIER) 5,7"], [b"* VANISHED (EARLIER) 5,7"])
        # A device that knows only some UIDs hears only of those.
        assert _resync_lines(server.port, marks["validity"], marks["old"], b"1,3,4,6:8")[0] == [
            b"* VANISHED (EARLIER) 3,7"]

    await in_thread(after_restart)
