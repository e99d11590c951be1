"""LIST-EXTENDED (RFC 5258) and LIST-STATUS (RFC 5819): how a phone finds every
conversation folder and its sync state in one round trip (cpm-formats.md §7)."""

import pytest_twisted
from conftest import in_thread
from transcript import LOGIN, run


@pytest_twisted.ensureDeferred
async def test_rfc5819_list_return_status_for_a_conversation_tree(server):
    def scenario():
        run(server.port, LOGIN + """
            C: a1 CREATE Default/tel:+33612345678
            S: a1 OK ...
            C: a2 CREATE Default/f81d4fae-7dec/abcdef-0123
            S: a2 OK ...
            C: a3 APPEND Default/tel:+33612345678 (\\Seen) {1+}
            C: x
            S: a3 OK [APPENDUID ...
            C: a4 APPEND Default/tel:+33612345678 {1+}
            C: y
            S: a4 OK [APPENDUID ...
            C: a5 LIST "" "Default/*" RETURN (STATUS (MESSAGES UIDNEXT UNSEEN HIGHESTMODSEQ))
            S: * LIST (\\HasChildren) "/" Default/f81d4fae-7dec
            S: * STATUS Default/f81d4fae-7dec (MESSAGES 0 UIDNEXT 1 UNSEEN 0 HIGHESTMODSEQ ...)
            S: * LIST (\\HasNoChildren) "/" Default/f81d4fae-7dec/abcdef-0123
            S: * STATUS Default/f81d4fae-7dec/abcdef-0123 (MESSAGES 0 UIDNEXT 1 UNSEEN 0 HIGHESTMODSEQ ...)
            S: * LIST (\\HasNoChildren) "/" Default/tel:+33612345678
            S: * STATUS Default/tel:+33612345678 (MESSAGES 2 UIDNEXT 3 UNSEEN 1 HIGHESTMODSEQ ...)
            S: a5 OK List completed.
            C: a6 LIST "" % RETURN (STATUS (FROBS))
            S: a6 BAD ...
        """)

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc5258_subscribed_selection_and_return(server):
    def scenario():
        run(server.port, LOGIN + """
            C: a1 CREATE Fruit/Apple
            S: a1 OK ...
            C: a2 CREATE Fruit/Banana
            S: a2 OK ...
            C: a3 CREATE Tofu
            S: a3 OK ...
            C: a4 SUBSCRIBE Fruit/Banana
            S: a4 OK ...
            C: a5 SUBSCRIBE Fruit/Peach
            S: a5 OK ...
            C: a6 SUBSCRIBE Tofu
            S: a6 OK ...
            C: b1 LIST (SUBSCRIBED) "" "*"
            S: * LIST (\\Subscribed \\HasNoChildren) "/" Fruit/Banana
            S: * LIST (\\Subscribed \\NonExistent) "/" Fruit/Peach
            S: * LIST (\\Subscribed \\HasNoChildren) "/" Tofu
            S: b1 OK List completed.
            C: b2 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"
            S: * LIST (\\HasChildren) "/" Fruit ("CHILDINFO" ("SUBSCRIBED"))
            S: * LIST (\\Subscribed \\HasNoChildren) "/" Tofu
            S: b2 OK List completed.
            C: b3 LIST "" ("Fruit/*" "Tofu") RETURN (SUBSCRIBED CHILDREN)
            S: * LIST (\\HasNoChildren) "/" Fruit/Apple
            S: * LIST (\\Subscribed \\HasNoChildren) "/" Fruit/Banana
            S: * LIST (\\Subscribed \\HasNoChildren) "/" Tofu
            S: b3 OK List completed.
            C: b4 LIST (RECURSIVEMATCH) "" "%"
            S: b4 BAD ...
            C: b5 LIST (FROB) "" "%"
            S: b5 BAD ...
        """)

    await in_thread(scenario)
