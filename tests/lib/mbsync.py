"""mbsync - one run of mbsync (Debian package isync) pulling every folder
of an IMAPS server into a Maildir, and what it recorded.

Trust: test code only; the server is on 127.0.0.1 ("localhost" in the
certificate the caller gives).
"""

import os
import re
import subprocess


def mbsync_state(root, cafile, port, user):
    """Runs mbsync once against the server on 127.0.0.1:port as user
    (address, password), pulling every folder into a Maildir under root
    (kept: a second call on the same root syncs from the state the first
    left); returns {folder: (far UIDVALIDITY, {far UIDs})} from its
    .mbsyncstate files."""
    conf = os.path.join(root, "mbsyncrc")
    near = os.path.join(root, "mail")
    os.makedirs(near, exist_ok=True)
    with open(conf, "w") as f:
        f.write("IMAPAccount tem\nHost localhost\nPort %d\nUser %s\n"
                "Pass %s\nSSLType IMAPS\nCertificateFile %s\n\n"
                "IMAPStore far\nAccount tem\n\n"
                "MaildirStore near\nPath %s/\nInbox %s/INBOX\n"
                "SubFolders Verbatim\n\n"
                "Channel sync\nFar :far:\nNear :near:\nPatterns *\n"
                "Create Near\nSync Pull\nSyncState *\n"
                % (port, user[0], user[1], cafile, near, near))
    p = subprocess.run(["mbsync", "-c", conf, "sync"], capture_output=True,
                       env=dict(os.environ, HOME=root), timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    out = {}
    for dirpath, _, names in os.walk(near):
        if ".mbsyncstate" not in names:
            continue
        with open(os.path.join(dirpath, ".mbsyncstate")) as f:
            text = f.read()
        head, _, body = text.partition("\n\n")
        uv = int(re.search(r"FarUidValidity (\d+)", head).group(1))
        uids = {int(l.split()[0]) for l in body.splitlines()
                if l.strip() and int(l.split()[0]) > 0}
        out[os.path.relpath(dirpath, near)] = (uv, uids)
    return out


def near_files(root):
    """The message files mbsync wrote under root ({path relative to the
    Maildir root: bytes}), flags suffix dropped from the name."""
    near = os.path.join(root, "mail")
    out = {}
    for dirpath, _, names in os.walk(near):
        if os.path.basename(dirpath) not in ("new", "cur"):
            continue
        for n in names:
            with open(os.path.join(dirpath, n), "rb") as f:
                out[os.path.join(os.path.relpath(dirpath, near),
                                 n.split(":2,")[0])] = f.read()
    return out
