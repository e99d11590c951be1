"""The ``twistd cpmstore`` plugin (DESIGN §7).

twistd imports every plugin module to list them in ``twistd --help``, so this
one imports only what it needs to describe itself; cpmstore is imported when
the service is made.
"""

from twisted.application.service import IServiceMaker
from twisted.plugin import IPlugin
from twisted.python import usage
from zope.interface import implementer


class Options(usage.Options):
    synopsis = "[--config FILE]"
    longdesc = """\
Run cpmstore, an OMA CPM Message Storage Server speaking IMAP4rev1.

Without --config, the embedded default is used: data in ./cpmstore-data,
users in ./cpmstore-data/passwd, one plaintext listener on 127.0.0.1:1143
(plaintext login allowed, loopback only), and a 'demo' user created on the
first start with a random password, written to ./cpmstore-data/demo-password.

With --config FILE, settings come from a TOML file; conf/cpmstore.toml
describes every key. Manage users with cpmstore-admin.

SIGHUP reloads the TLS certificate and key: new connections use the new
ones, open connections keep theirs.
"""
    optParameters = [
        ["config", "c", None, "TOML configuration file (default: the embedded default described below)."],
    ]


@implementer(IServiceMaker, IPlugin)
class CPMStoreServiceMaker:
    tapname = "cpmstore"
    description = "OMA CPM Message Storage Server (IMAP4rev1)."
    options = Options

    def makeService(self, options):
        from cpmstore.config import ConfigError, load_config
        from cpmstore.service import make_service

        try:
            # SIGHUP reloads the TLS certificate (systemctl reload).
            return make_service(load_config(options["config"]), reload_on_sighup=True)
        except ConfigError as e:
            # A clear one-line reason and exit status 1, not a traceback.
            raise SystemExit(f"cpmstore: configuration error: {e}") from None


service_maker = CPMStoreServiceMaker()
