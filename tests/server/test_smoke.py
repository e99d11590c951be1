import imaplib

import pytest_twisted
from conftest import in_thread


@pytest_twisted.ensureDeferred
async def test_login_select_append_fetch(server):
    def scenario():
        c = imaplib.IMAP4("127.0.0.1", server.port)
        c.login("user1", "pass")
        typ, data = c.append("INBOX", r"(\Seen)", None, b"Subject: hi\r\n\r\nhello\r\n")
        assert typ == "OK", data
        typ, data = c.select("INBOX")
        assert data == [b"1"]
        typ, data = c.fetch("1", "(FLAGS BODY.PEEK[])")
        assert data[0][1] == b"Subject: hi\r\n\r\nhello\r\n"
        c.logout()

    await in_thread(scenario)
