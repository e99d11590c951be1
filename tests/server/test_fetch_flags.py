"""FETCH of flags, UIDs, sizes and MODSEQs on a folder larger than one FETCH
chunk (RFC 3501 §6.4.5, §7.4.2; \\Recent §2.3.2; MODSEQ RFC 7162 §3.1.4).

Such a FETCH is answered from the folder's arrays in memory, a whole chunk at
a time; a FETCH that also asks for INTERNALDATE is answered message by
message. These tests check that both give the same FLAGS, UID, RFC822.SIZE
and MODSEQ for every message after other sessions changed the folder:
flags stored on scattered messages, a message expunged, messages added that
are \\Recent for this session only."""

import re

import pytest_twisted
from conftest import in_thread
from transcript import Connection, append_many, logged_in

COUNT = 2500  # more than one chunk of 2,000 messages
STORED = (5, 1999, 2000, 2001, 2400)  # UIDs given ($Label \Flagged) by another session
EXPUNGED = 1000  # a UID another session expunges

_INTERNALDATE = re.compile(rb' INTERNALDATE "[^"]*"\)$')


def fill(conn: Connection, folder: bytes, count: int) -> None:
    """``count`` small messages; every third one is \\Seen, so flag sets
    vary from message to message."""
    append_many(conn, folder, ((b"(\\Seen)" if n % 3 == 0 else b"", b"Subject: m%d\r\n\r\nbody %d\r\n" % (n, n))
                               for n in range(count)))


def by_seq(lines: list[bytes]) -> dict[int, bytes]:
    """``* n FETCH (...)`` lines by n (other untagged lines, such as the
    HIGHESTMODSEQ that enabling CONDSTORE brings, are left out); the tagged
    line must be OK and no message answered twice."""
    assert lines[-1].split(b" ")[1] == b"OK", lines[-1]
    out = {}
    for line in lines[:-1]:
        m = re.match(rb"\* (\d+) FETCH (\(.*\))$", line)
        if m:
            assert int(m.group(1)) not in out, line
            out[int(m.group(1))] = m.group(2)
    return out


@pytest_twisted.ensureDeferred
async def test_rfc3501_6_4_5_fetch_flags_of_a_large_folder_after_changes(server):
    def scenario():
        other = logged_in(server.port)
        assert other.command(b"c1", b"CREATE big")[-1].startswith(b"c1 OK")
        fill(other, b"big", COUNT)

        assert other.command(b"c2", b"SELECT big")[-1].startswith(b"c2 OK")  # takes their \Recent
        reader = logged_in(server.port)
        assert reader.command(b"r1", b"SELECT big")[-1].startswith(b"r1 OK")
        adder = logged_in(server.port)
        fill(adder, b"big", 3)  # UIDs COUNT+1..COUNT+3
        adder.close()
        assert reader.command(b"r2", b"NOOP")[-1].startswith(b"r2 OK")  # the first to hear them: \Recent here
        stored = other.command(b"c3", b"UID STORE %s +FLAGS.SILENT ($Label \\Flagged)"
                               % b",".join(b"%d" % uid for uid in STORED))
        assert stored[-1].startswith(b"c3 OK")
        assert other.command(b"c4", b"UID STORE %d +FLAGS.SILENT (\\Deleted)" % EXPUNGED)[-1].startswith(b"c4 OK")
        assert other.command(b"c5", b"UID EXPUNGE %d" % EXPUNGED)[-1].startswith(b"c5 OK")
        assert reader.command(b"r2b", b"NOOP")[-1].startswith(b"r2b OK")  # hears EXPUNGE and FETCH

        whole = by_seq(reader.command(b"r3", b"FETCH 1:* (FLAGS)"))
        one_by_one = by_seq(reader.command(b"r4", b"FETCH 1:* (FLAGS INTERNALDATE)"))
        assert len(whole) == COUNT + 3 - 1
        assert whole == {seq: _INTERNALDATE.sub(b")", line) for seq, line in one_by_one.items()}

        # Sequence numbers past the expunged message moved down by one.
        assert whole[1] == b"(FLAGS (\\Seen))"
        assert whole[2] == b"(FLAGS ())"
        assert whole[5] == b"(FLAGS ($Label \\Flagged))"
        assert whole[1999] == b"(FLAGS ($Label \\Flagged))"  # UID 2000
        assert whole[2399] == b"(FLAGS ($Label \\Flagged))"  # UID 2400
        assert whole[COUNT + 2] == b"(FLAGS (\\Recent))"

        items = b"(UID RFC822.SIZE MODSEQ FLAGS)"
        whole = by_seq(reader.command(b"r5", b"FETCH 1:* " + items))
        one_by_one = by_seq(reader.command(b"r6", b"FETCH 1:* (UID RFC822.SIZE MODSEQ FLAGS INTERNALDATE)"))
        assert whole == {seq: _INTERNALDATE.sub(b")", line) for seq, line in one_by_one.items()}
        modseqs = {int(re.search(rb"MODSEQ \((\d+)\)", line).group(1)) for line in whole.values()}
        assert len(modseqs) > 1  # the stored messages have higher MODSEQs than the rest

        # A scattered UID set: the expunged UID and one never given are left out.
        wanted = b"1,5,999:1001,1999:2001,%d,%d" % (COUNT + 3, COUNT + 50)
        scattered = by_seq(reader.command(b"r7", b"UID FETCH %s (FLAGS)" % wanted))
        assert scattered == {
            1: b"(UID 1 FLAGS (\\Seen))",
            5: b"(UID 5 FLAGS ($Label \\Flagged))",
            999: b"(UID 999 FLAGS ())",
            1000: b"(UID 1001 FLAGS ())",
            1998: b"(UID 1999 FLAGS ($Label \\Flagged \\Seen))",
            1999: b"(UID 2000 FLAGS ($Label \\Flagged))",
            2000: b"(UID 2001 FLAGS ($Label \\Flagged))",
            COUNT + 2: b"(UID %d FLAGS (\\Recent))" % (COUNT + 3),
        }
        other.close()
        reader.close()

    await in_thread(scenario)
