"""``MaildirStore.unload``: an idle account is closed only if nothing took it
meanwhile, and a store opened again sees everything the closed one committed."""

import pytest_twisted

from cpmstore.store.backup import backup_if_changed


def _never_in_use(name: str) -> bool:
    return False


@pytest_twisted.ensureDeferred
async def test_unloaded_account_comes_back_from_disk(store, account):
    await account.append("INBOX", [(b"Subject: one\r\n\r\nbody\r\n", ("\\Seen",), None)])
    assert store.idle_accounts(0) == [account]
    assert await store.unload(account, _never_in_use, backup_if_changed)
    assert store.loaded_account("alice") is None
    again = await store.account("alice")
    assert again is not account
    reopened = await again.open_mailbox("INBOX")
    assert list(reopened.uids) == [1]
    assert reopened.flags_of(1) == frozenset({"\\Seen"})


@pytest_twisted.ensureDeferred
async def test_unload_gives_up_when_the_account_is_taken_during_the_backup(store, account):
    taken = []

    async def backup_then_someone_logs_in(acct):
        await backup_if_changed(acct)
        taken.append(await store.account("alice"))  # a login during the last backup

    assert not await store.unload(account, _never_in_use, backup_then_someone_logs_in)
    assert taken == [account] and store.loaded_account("alice") is account
    inbox = await account.open_mailbox("INBOX")  # still open, still usable
    assert inbox.uid_next == 1


@pytest_twisted.ensureDeferred
async def test_an_account_in_use_or_listened_to_is_not_idle(store, account):
    assert not await store.unload(account, lambda name: name == "alice")
    unsubscribe = account.bus.subscribe(lambda change: None)
    assert store.idle_accounts(0) == []
    unsubscribe()
    assert store.idle_accounts(0) == [account]
