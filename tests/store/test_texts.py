"""The text index's key encoding (store/texts.py): a SEARCH key is found in
the stored octets exactly when its text is in the message's text, which is
what lets SQLite's instr() on BLOBs answer RFC 3501 §6.4.4 TEXT and BODY."""

from hypothesis import given, settings
from hypothesis import strategies as st

from cpmstore.store.texts import encode_key

# Multi-octet UTF-8 (2, 3 and 4 octets), NUL and a lone surrogate among ASCII.
_TEXT = st.text(alphabet="ab\x00é€👍\ud800", max_size=12)


@settings(max_examples=500, deadline=None)
@given(_TEXT, _TEXT)
def test_octets_of_a_key_occur_in_a_text_exactly_when_the_key_does(key, text):
    assert (encode_key(key) in encode_key(text)) == (key in text)
