"""An SMTP server for one test, as a mail provider runs one: STARTTLS required before anything
else, then AUTH required (one user), with a certificate for `localhost` from a throwaway CA.

    python smtp_tls.py USER PASSWORD

Prints one JSON line {"port": ..., "ca": PATH} once it accepts connections, then one JSON line
per message received ({"tls", "authenticated", "from", "to", "data"}), and stops when its
standard input closes.
"""

import json
import logging
import os
import socket
import ssl
import sys
import tempfile
import warnings

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

user, password = sys.argv[1].encode(), sys.argv[2].encode()
# Refused handshakes and logins are part of the test: not worth a traceback each.
logging.getLogger("mail.log").setLevel(logging.CRITICAL)
warnings.simplefilter("ignore")

ca = trustme.CA()
cert = ca.issue_cert("localhost")
ca_path = os.path.join(tempfile.mkdtemp(), "ca.pem")
ca.cert_pem.write_to_path(ca_path)
tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
cert.configure_cert(tls)


class Handler:
    async def handle_DATA(self, server, session, envelope):
        print(json.dumps({
            "tls": session.ssl is not None,
            "authenticated": session.authenticated,
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "data": envelope.content.decode("utf-8", "replace"),
        }), flush=True)
        return "250 OK"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (user, password)
    # handled=False: aiosmtpd answers (235, or 535 on failure) itself.
    return AuthResult(success=ok, handled=False)


probe = socket.socket()
probe.bind(("127.0.0.1", 0))
port = probe.getsockname()[1]
probe.close()
controller = Controller(
    Handler(), hostname="127.0.0.1", port=port,
    tls_context=tls, require_starttls=True,
    authenticator=authenticator, auth_required=True, auth_require_tls=True,
)
controller.start()
print(json.dumps({"port": port, "ca": ca_path}), flush=True)
sys.stdin.read()
controller.stop()
