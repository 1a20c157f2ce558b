"""milter_codec_peer - a filter on sendmail's libmilter (through pymilter,
Debian's python3-milter) for tests/integration/test_milter_codec.py.

Run as `python3 milter_codec_peer.py SOCKET`: it listens on the unix
socket and, for each session, notes every event and its arguments and the
macros it was sent, rejects the recipient <spam@d.test> with a two-line
reply, and at end of message reports what it saw as added headers, then
asks for every other modification libmilter has (insert, change and
delete header, add recipient with and without ESMTP arguments, delete
recipient, change sender, replace body, quarantine, progress) and accepts.

Every callback is overridden and none is marked @noreply, so libmilter
asks for every event and answers each, whatever the negotiation does.
"""
import sys

import Milter  # Debian: python3-milter


class Peer(Milter.Base):
    def __init__(self):
        self.seen = []

    def connect(self, hostname, family, hostaddr):
        self.seen.append(("X-Connect", "%s %s %r j=%s d=%s" % (
            hostname, family, hostaddr, self.getsymval("j"),
            self.getsymval("{daemon_name}"))))
        return Milter.CONTINUE

    def hello(self, name):
        self.seen.append(("X-Helo", name))
        return Milter.CONTINUE

    def envfrom(self, f, *params):
        self.seen.append(("X-From", "%s %s i=%s" % (
            f, " ".join(params), self.getsymval("i"))))
        return Milter.CONTINUE

    def envrcpt(self, to, *params):
        if to == "<spam@d.test>":
            self.setreply("550", "5.7.1", "no spam", "100%% sure")
            return Milter.REJECT
        self.seen.append(("X-Rcpt", " ".join((to,) + params)))
        return Milter.CONTINUE

    def data(self):
        return Milter.CONTINUE

    def unknown(self, cmd):
        return Milter.CONTINUE

    def header(self, name, value):
        self.seen.append(("X-Header", "%s:%s" % (name, value)))
        return Milter.CONTINUE

    def eoh(self):
        return Milter.CONTINUE

    def body(self, chunk):
        self.seen.append(("X-Body", repr(chunk)))
        return Milter.CONTINUE

    def eom(self):
        for name, value in self.seen:
            self.addheader(name, value)
        self.addheader("X-First", "top", 0)
        self.chgheader("Subject", 1, "changed")
        self.chgheader("X-Gone", 1, "")
        self.addrcpt("<new@d.test>")
        self.addrcpt("<par@d.test>", "NOTIFY=NEVER")
        self.delrcpt("<c@d.test>")
        self.chgfrom("<x@b.test>", "SIZE=5")
        self.replacebody(b"new body\r\n")
        self.quarantine("held for review")
        self.progress()
        return Milter.ACCEPT


if __name__ == "__main__":
    Milter.factory = Peer
    Milter.runmilter("codec-peer", "unix:" + sys.argv[1], 30)
