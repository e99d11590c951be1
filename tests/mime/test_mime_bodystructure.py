"""BODY and BODYSTRUCTURE, RFC 3501 §7.4.2, on RFC examples and CPM objects."""

from cpmstore.mime.analysis import analyze


def text_of(size: int, lines: int) -> bytes:
    """A body of exactly ``size`` octets and ``lines`` CRLF-ended lines."""
    width, extra = divmod(size - 2 * lines, lines)
    rows = [b"x" * (width + (1 if n < extra else 0)) + b"\r\n" for n in range(lines)]
    return b"".join(rows)


RFC3501_MIXED = (
    b"Subject: diff\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: MULTIPART/MIXED; BOUNDARY="16820115-1435684063-837617219"\r\n'
    b"\r\n"
    b"--16820115-1435684063-837617219\r\n"
    b"Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
    b"\r\n" + text_of(1152, 23) + b"\r\n"
    b"--16820115-1435684063-837617219\r\n"
    b"Content-Type: TEXT/PLAIN; CHARSET=US-ASCII; NAME=cc.diff\r\n"
    b"Content-ID: <960723163407.20117h@cac.washington.edu>\r\n"
    b"Content-Description: Compiler diff\r\n"
    b"Content-Transfer-Encoding: BASE64\r\n"
    b"\r\n" + text_of(4554, 73) + b"\r\n"
    b"--16820115-1435684063-837617219--\r\n"
)


def test_rfc3501_7_4_2_body_example():
    assert analyze(RFC3501_MIXED).body == (
        b'(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1152 23)'
        b'("TEXT" "PLAIN" ("CHARSET" "US-ASCII" "NAME" "cc.diff") '
        b'"<960723163407.20117h@cac.washington.edu>" "Compiler diff" "BASE64" 4554 73) "MIXED")'
    )


def test_rfc3501_7_4_2_bodystructure_example_extension_data():
    assert analyze(RFC3501_MIXED).bodystructure == (
        b'(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1152 23 NIL NIL NIL NIL)'
        b'("TEXT" "PLAIN" ("CHARSET" "US-ASCII" "NAME" "cc.diff") '
        b'"<960723163407.20117h@cac.washington.edu>" "Compiler diff" "BASE64" 4554 73 NIL NIL NIL NIL) '
        b'"MIXED" ("BOUNDARY" "16820115-1435684063-837617219") NIL NIL NIL)'
    )


def test_rfc3501_7_4_2_non_multipart_example():
    message = b"Subject: x\r\nContent-Type: text/plain; charset=US-ASCII\r\n\r\n" + text_of(3028, 92)
    assert analyze(message).body == b'("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92)'


def test_rfc3501_7_4_2_defaults_without_content_type():
    analysis = analyze(b"Subject: x\r\n\r\nhello\r\nworld")
    assert analysis.bodystructure == b'("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 12 1 NIL NIL NIL NIL)'


CPM_SESSION_HISTORY = (
    b"From: tel:+33612345678\r\n"
    b"To: sip:Conference-Factory@example.com\r\n"
    b"Date: Fri, 21 Nov 1997 09:55:06 -0600\r\n"
    b"Subject: Team\r\n"
    b"Conversation-ID: f81d4fae-7dec-11d0-a765-00a0c91e6bf6\r\n"
    b"Contribution-ID: abcdef-1234-5678-90ab-cdef01234567\r\n"
    b'Content-Type: multipart/related;boundary=cpm;\r\n type="Application/X-CPM-Session"\r\n'
    b"\r\n"
    b"--cpm\r\n"
    b"Content-Type: Application/X-CPM-Session\r\n"
    b"\r\n"
    b"<session><session-type>Group</session-type></session>\r\n"
    b"--cpm\r\n"
    b"Content-Type: Message/CPIM\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b"From: <sip:anonymous@anonymous.invalid>\r\n"
    b"NS: imdn <urn:ietf:params:imdn>\r\n"
    b"\r\n"
    b"Content-type: text/plain;charset=utf-8\r\n"
    b"\r\n"
    b"Bonjour \xc3\xa0 tous\r\n"
    b"--cpm\r\n"
    b"Content-Type: message/cpim\r\n"
    b"\r\n"
    b"From: <sip:bob@example.com>\r\n"
    b"\r\n"
    b"Content-type: text/plain\r\n"
    b"\r\n"
    b"Second\r\n"
    b"--cpm--\r\n"
)


def test_cpm_session_history_cpim_parts_are_basic_bodies():
    assert analyze(CPM_SESSION_HISTORY).bodystructure == (
        b'(("APPLICATION" "X-CPM-SESSION" NIL NIL NIL "7BIT" 53 NIL NIL NIL NIL)'
        b'("MESSAGE" "CPIM" NIL NIL NIL "8BIT" 133 NIL NIL NIL NIL)'
        b'("MESSAGE" "CPIM" NIL NIL NIL "7BIT" 65 NIL NIL NIL NIL) '
        b'"RELATED" ("BOUNDARY" "cpm" "TYPE" "Application/X-CPM-Session") NIL NIL NIL)'
    )


JPEG = bytes(range(256)) * 4 + b"\r\n--cp\r\n\n\r\x00"
CPM_FILE_TRANSFER = (
    b"From: John Doe <jdoe@machine.example>\r\n"
    b"Date: Fri, 21 Nov 1997 09:55:06 -0600\r\n"
    b"Conversation-ID: f81d4fae\r\n"
    b'Content-type: multipart/related;boundary=cpm; type="Application/X-CPM-File-Transfer"\r\n'
    b"\r\n"
    b"--cpm\r\n"
    b"Content-Type: Application/X-CPM-File-Transfer\r\n"
    b"\r\n"
    b"<file-object><cid>cid:<1234@example.com></cid></file-object>\r\n"
    b"--cpm\r\n"
    b"Content-Type: image/jpeg\r\n"
    b"Content-Transfer-Encoding: binary\r\n"
    b"Content-ID: <1234@example.com>\r\n"
    b'Content-Disposition: attachment; filename="My picture.jpg"\r\n'
    b"Content-Language: en, fr\r\n"
    b"Content-Location: http://example.com/p.jpg\r\n"
    b"\r\n" + JPEG + b"\r\n"
    b"--cpm--\r\n"
)


def test_cpm_file_transfer_binary_part_size_and_extension_data():
    assert analyze(CPM_FILE_TRANSFER).bodystructure == (
        b'(("APPLICATION" "X-CPM-FILE-TRANSFER" NIL NIL NIL "7BIT" 60 NIL NIL NIL NIL)'
        b'("IMAGE" "JPEG" NIL "<1234@example.com>" NIL "BINARY" %d NIL '
        b'("attachment" ("FILENAME" "My picture.jpg")) ("en" "fr") "http://example.com/p.jpg") '
        b'"RELATED" ("BOUNDARY" "cpm" "TYPE" "Application/X-CPM-File-Transfer") NIL NIL NIL)' % len(JPEG)
    )


NESTED = (
    b"From: a@example.com\r\n"
    b"Content-Type: multipart/mixed; boundary=outer\r\n"
    b"\r\n"
    b"preamble\r\n"
    b"--outer\r\n"
    b"\r\n"
    b"implicit text\r\n"
    b"--outer\r\n"
    b"Content-Type: message/rfc822\r\n"
    b"\r\n"
    b"From: Bob <bob@example.com>\r\n"
    b"Subject: inner\r\n"
    b"Content-Type: multipart/alternative; boundary=outer-alt\r\n"
    b"\r\n"
    b"--outer-alt\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"plain\r\n"
    b"--outer-alt\r\n"
    b"Content-Type: text/html\r\n"
    b"\r\n"
    b"<p>html</p>\r\n"
    b"--outer-alt--\r\n"
    b"\r\n"
    b"--outer--\r\n"
    b"epilogue\r\n"
)


def test_rfc3501_7_4_2_message_rfc822_within_multipart():
    inner_envelope = (
        b'(NIL "inner" (("Bob" NIL "bob" "example.com")) (("Bob" NIL "bob" "example.com")) '
        b'(("Bob" NIL "bob" "example.com")) NIL NIL NIL NIL NIL)'
    )
    assert analyze(NESTED).body == (
        b'(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 13 0)'
        b'("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 235 ' + inner_envelope + b" "
        b'(("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "7BIT" 5 0)'
        b'("TEXT" "HTML" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 11 0) "ALTERNATIVE") 13) "MIXED")'
    )


def test_rfc2046_5_1_5_digest_parts_default_to_message_rfc822():
    message = (
        b"Content-Type: multipart/digest; boundary=d\r\n\r\n"
        b"--d\r\n\r\nSubject: one\r\n\r\nbody\r\n--d--\r\n"
    )
    assert analyze(message).body == (
        b'(("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 20 '
        b'(NIL "one" NIL NIL NIL NIL NIL NIL NIL NIL) '
        b'("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 4 0) 2) "DIGEST")'
    )


def test_rfc2046_5_1_1_multipart_without_delimiters_still_has_one_part():
    message = b"Content-Type: multipart/mixed; boundary=zz\r\n\r\nno parts here\r\n"
    assert analyze(message).body == b'(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 0 0) "MIXED")'


def test_rfc2045_5_2_multipart_without_boundary_is_text_plain():
    message = b"Content-Type: multipart/mixed\r\n\r\nabc"
    assert analyze(message).body == b'("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3 0)'


def test_rfc2231_continuations_are_merged():
    message = (
        b"Content-Type: application/pdf;\r\n name*0=\"long\"; name*1=\"name.pdf\"\r\n"
        b"Content-Disposition: attachment; filename*=utf-8''%C3%A9t%C3%A9.pdf\r\n\r\nx"
    )
    assert analyze(message).bodystructure == (
        b'("APPLICATION" "PDF" ("NAME" "longname.pdf") NIL NIL "7BIT" 1 NIL '
        b"(\"attachment\" (\"FILENAME*\" \"utf-8''%C3%A9t%C3%A9.pdf\")) NIL NIL)"
    )


def test_rfc3501_4_3_8bit_parameter_values_are_sent_byte_exact():
    message = b'Content-Type: text/plain; name="caf\xe9"\r\nContent-Disposition: inline; filename="\xc3\xa9"\r\n\r\nx'
    assert analyze(message).bodystructure == (
        b'("TEXT" "PLAIN" ("CHARSET" "US-ASCII" "NAME" {4}\r\ncaf\xe9) NIL NIL "7BIT" 1 0 NIL '
        b'("inline" ("FILENAME" {2}\r\n\xc3\xa9)) NIL NIL)'
    )
