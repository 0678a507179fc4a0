"""A real IMAP server for the tests: Debian's Dovecot (package dovecot-imapd), started once
per test session with a throw-away configuration in a temp folder.

It listens on 127.0.0.1 on two free ports: ``imap`` (STARTTLS; no login before it) and
``imaps`` (TLS from the start), with a self-signed certificate for 127.0.0.1 made here by
the ``openssl`` command (trust it with ``SSL_CERT_FILE``).  Users from a passwd-file:
:data:`USER`, whose password needs quoting, and :data:`OTHER_USER`, whose password is not
ASCII; mail in Maildir folders in the temp folder.

Running as root (the tests do, here and in CI): Dovecot's own processes run as the users
the package creates (``dovecot``, ``dovenull``) and the mail as ``nobody`` (Dovecot will not
keep mail as root), so the temp folder may be passed through by others (mode 0711) and its
mail folder is nobody's.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

DOVECOT = "/usr/sbin/dovecot"
USER, PASSWORD = "shop@anhduong.vn", 'pa"ss w\\ord'  # logs in with LOGIN, quoted
OTHER_USER, OTHER_PASSWORD = "lan", "mật khẩu 2026"  # not ASCII: AUTHENTICATE PLAIN
MAIL_USER = "nobody"

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = required
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
auth_mechanisms = plain login
auth_failure_delay = 0
# (and no growing delay after failed logins from 127.0.0.1: the anvil listener below)
default_internal_user = dovecot
default_login_user = dovenull
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_group} home={root}/mail/%u
}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
    ssl = yes
  }}
}}
"""


class Server:
    """A running Dovecot: its ports, its certificate, :meth:`stop`."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="crm-imap-"))
        self.cert = self.root / "cert.pem"
        self.imap_port, self.imaps_port = free_ports(2)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Server:
        import grp
        import pwd

        mail = pwd.getpwnam(MAIL_USER)
        self.root.chmod(0o711)  # Dovecot's users pass through to the passwd-file and the mail
        certificate(self.root)
        users = self.root / "users"
        users.write_text(
            f"{USER}:{{PLAIN}}{PASSWORD}\n{OTHER_USER}:{{PLAIN}}{OTHER_PASSWORD}\n",
            encoding="utf-8",
        )
        users.chmod(0o644)
        (self.root / "mail").mkdir()
        os.chown(self.root / "mail", mail.pw_uid, mail.pw_gid)
        conf = self.root / "dovecot.conf"
        conf.write_text(
            CONFIG.format(
                root=self.root,
                imap_port=self.imap_port,
                imaps_port=self.imaps_port,
                mail_user=MAIL_USER,
                mail_group=grp.getgrgid(mail.pw_gid).gr_name,
            )
        )
        with (self.root / "stderr.log").open("wb") as err:  # not a pipe nobody reads
            self.process = subprocess.Popen(
                [DOVECOT, "-F", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=err
            )
        self._wait()
        return self

    def _wait(self) -> None:
        """Until both ports accept connections; a Dovecot that exits or does not listen
        within 15 s is stopped and reported with its log."""
        assert self.process is not None
        deadline = time.monotonic() + 15
        while self.process.poll() is None and time.monotonic() < deadline:
            if all(accepts(port) for port in (self.imap_port, self.imaps_port)):
                return
            time.sleep(0.05)
        said = self.log()
        self.stop()
        raise RuntimeError(f"dovecot did not start listening: {said}")

    def log(self) -> str:
        """The end of what Dovecot said (its log, then its stderr): why it did not start."""
        paths = (self.root / "dovecot.log", self.root / "stderr.log")
        text = "".join(p.read_text(errors="replace") for p in paths if p.exists())
        return text.strip()[-2000:]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def certificate(root: Path) -> None:
    """A self-signed certificate for 127.0.0.1 (a small EC key: made in milliseconds)."""
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(root / "key.pem"), "-out", str(root / "cert.pem"),
         "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip


def free_ports(n: int) -> list[int]:
    """``n`` distinct ports free now on 127.0.0.1 (all bound at once, so never the same)."""
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


def accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def missing() -> str | None:
    """Why the server cannot run here, or None."""
    if not Path(DOVECOT).exists():
        return f"{DOVECOT} is not installed (apt-get install dovecot-imapd)"
    if shutil.which("openssl") is None:
        return "no openssl command to make the test certificate"
    if os.geteuid() != 0:
        return "dovecot's test configuration needs root (it runs its processes as other users)"
    return None
