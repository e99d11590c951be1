"""Base subject extraction, RFC 5256 §2.1, one row per rule of the section."""

import pytest
from hypothesis import given, settings, strategies as st

from cpmstore.mime.basesubject import BaseSubject, base_subject


@pytest.mark.parametrize("subject, text, reply", [
    ("Hello world", "Hello world", False),
    # (1) tabs, continuations and runs of blanks become one space
    ("Hello \t  world", "Hello world", False),
    ("Hello\r\n world", "Hello world", False),
    # (2) subj-trailer = "(fwd)" / WSP, repeated
    ("Hello (fwd)", "Hello", True),
    ("Hello (FWD) (fwd)  ", "Hello", True),
    ("Hello   ", "Hello", False),
    ("(fwd) Hello", "(fwd) Hello", False),
    # (3) subj-leader = (*subj-blob subj-refwd) / WSP; subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"
    ("Re: Hello", "Hello", True),
    ("RE:Hello", "Hello", True),
    ("Fw: Hello", "Hello", True),
    ("FWD: Hello", "Hello", True),
    ("re : Hello", "Hello", True),
    ("Re[2]: Hello", "Hello", True),
    ("Re [list]: Hello", "Hello", True),
    ("[list] Re: Hello", "Hello", True),
    ("[a][b] Re: Hello", "Hello", True),
    ("   Hello", "Hello", False),
    ("Reply: Hello", "Reply: Hello", False),
    ("Fwdx: Hello", "Fwdx: Hello", False),
    # (4) a subj-blob prefix goes if a non-empty subj-base is left
    ("[list] Hello", "Hello", False),
    ("[a] [b] Hello", "Hello", False),
    ("[only]", "[only]", False),
    ("[a] [only]", "[only]", False),
    # (5) (3) and (4) repeat until neither matches
    ("Re: [list] Re: Fwd: [x] Hello", "Hello", True),
    ("[PATCH] Re: [foo] hello (fwd)", "hello", True),
    # (6) "[fwd:" subject "]" is unwrapped and (2) starts again
    ("[fwd: Hello]", "Hello", True),
    ("[Fwd: Re: Hello (fwd)]", "Hello", True),
    ("[fwd: [fwd: Hello]]", "Hello", True),
    ("[fwd: Hello] x", "x", False),  # not a subj-fwd: a subj-blob (4)
    # what is left may be empty
    ("Re:", "", True),
    ("", "", False),
    ("   ", "", False),
    # non-ASCII text is kept as it is; case too (comparing is the collation's job)
    ("Re: Été", "Été", True),
])
def test_rfc5256_2_1_base_subject(subject, text, reply):
    assert base_subject(subject) == BaseSubject(text, reply)


@settings(max_examples=200)
@given(st.text(alphabet="Re:Fwd[] ()x\t", max_size=30))
def test_rfc5256_2_1_base_subject_is_a_fixed_point(subject):
    """A base subject has nothing left to remove (the steps ran to the end)."""
    once = base_subject(subject)
    assert base_subject(once.text).text == once.text
