"""pigeonhole - run Dovecot Pigeonhole's sieve-test on a script and a
message and map its report to the canonical action lines of
`tem sieve test` (src/cli/cli_sieve_test.h), so the two compare exactly.

Trust: test code only; runs sieve-test in a private temp dir with a
config written there (no system Dovecot config is read).

sieve-test prints "Performed actions:" and "Implicit keep:" sections; a
second run with -e (execute) against a private Maildir shows what
editheader did to the stored message, which the report does not.
"""

import email.header
import os
import re
import shlex
import shutil
import subprocess
import tempfile

SIEVE_TEST = shutil.which("sieve-test") or "/usr/bin/sieve-test"
DEFAULT_FROM = "sender@example.org"     # tem sieve test's defaults
DEFAULT_TO = "me@example.com"


def available():
    return os.path.exists(SIEVE_TEST)


def quote(s):
    """A string as cli_sieve_test.c prints it."""
    return '"' + (s.replace("\\", "\\\\").replace('"', '\\"')
                  .replace("\r", "\\r").replace("\n", "\\n")) + '"'


SYSTEM_FLAGS = {f.lower(): f for f in
                ("\\Seen", "\\Answered", "\\Flagged", "\\Deleted",
                 "\\Draft", "\\Recent")}


def canon_flags(flags):
    """' flags="..."' as tem prints it: system flags spelled as RFC 3501
    does, sorted case-insensitively, exact duplicates dropped."""
    seen, out = set(), []
    words = [SYSTEM_FLAGS.get(w.lower(), w) for w in flags.split()]
    for w in sorted(words, key=lambda w: (w.lower(), w)):
        if w not in seen:
            seen.add(w)
            out.append(w)
    return ' flags="%s"' % " ".join(out) if out else ""


def parse_args(argfile):
    """The options of a case's NAME.args (tem sieve test's syntax)."""
    if not os.path.exists(argfile):
        return []
    with open(argfile) as f:
        return shlex.split(f.read())


def options(args):
    """{option: [values]} of an argument list."""
    opts = {}
    for i in range(0, len(args) - 1, 2):
        opts.setdefault(args[i], []).append(args[i + 1])
    return opts


def write_config(tmp, incdir):
    """A private dovecot config for sieve-test; returns its path."""
    root = os.getuid() == 0
    uid = 65534 if root else os.getuid()    # sieve-test will not run as root
    gid = 65534 if root else os.getgid()
    conf = os.path.join(tmp, "dovecot.conf")
    with open(conf, "w") as f:
        f.write(f"""first_valid_uid = 0
first_valid_gid = 0
mail_uid = {uid}
mail_gid = {gid}
base_dir = {tmp}/run
mail_location = maildir:{tmp}/mail
mail_home = {tmp}/home
log_path = /dev/stderr
plugin {{
  sieve_extensions = +editheader +vacation-seconds
  sieve = file:{incdir};active={tmp}/home/.dovecot.sieve
  sieve_global = {incdir}/global
}}
""")
    return conf


class Run:
    """One sieve-test run of a corpus case, in its own temp dir."""

    def __init__(self, script, message, args):
        self.opts = options(args)
        self.tmp = tempfile.mkdtemp(prefix="sieve-ph-")
        os.chmod(self.tmp, 0o777)
        base = os.path.splitext(script)[0]
        self.incdir = os.path.join(self.tmp, "inc")
        if os.path.isdir(base + ".inc"):
            shutil.copytree(base + ".inc", self.incdir)
        os.makedirs(os.path.join(self.incdir, "global"), exist_ok=True)
        for d in ("run", "home", "mail"):
            os.makedirs(os.path.join(self.tmp, d))
        for name in self.opts.get("--mailbox-exists", []):
            for sub in ("cur", "new", "tmp"):
                os.makedirs(os.path.join(self.tmp, "mail", "." + name, sub))
        self.script = os.path.join(self.tmp, "case.sieve")
        self.message = os.path.join(self.tmp, "case.eml")
        shutil.copy(script, self.script)
        shutil.copy(message, self.message)
        for dirpath, dirs, files in os.walk(self.tmp):
            for n in dirs + files:
                os.chmod(os.path.join(dirpath, n), 0o777)
        self.before = None
        if os.path.exists(base + ".before"):
            # a sieve_before script (sieve-test -s), tem's --before
            self.before = os.path.join(self.tmp, "before.sieve")
            shutil.copy(base + ".before", self.before)
            os.chmod(self.before, 0o777)
        self.conf = write_config(self.tmp, self.incdir)

    def close(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def envelope(self):
        frm = self.opts.get("--from", [DEFAULT_FROM])[-1]
        to = self.opts.get("--to", [DEFAULT_TO])[-1]
        user = self.opts.get("--user", [to])[-1]
        return frm, to, user

    def run(self, execute=False):
        frm, to, user = self.envelope()
        cmd = [SIEVE_TEST, "-C", "-c", self.conf, "-f", frm, "-a", to,
               "-r", user]
        if execute:
            cmd += ["-e", "-l", f"maildir:{self.tmp}/mail"]
            # sieve-test does not create what fileinto names (LDA's
            # autocreate is not read): make every literal target
            with open(self.script) as f:
                boxes = re.findall(r'fileinto\s+(?::\w+\s+(?:"[^"]*"\s+)?)*"([^"$]+)"',
                                   f.read())
            for box in boxes:
                for sub in ("cur", "new", "tmp"):
                    d = os.path.join(self.tmp, "mail", "." + box.replace("/", "."), sub)
                    os.makedirs(d, exist_ok=True)
                    os.chmod(d, 0o777)
                    os.chmod(os.path.dirname(d), 0o777)
        if self.before is not None:
            cmd += ["-s", os.path.basename(self.before)]   # cwd: tmp
        cmd += [self.script, self.message]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                           cwd=self.tmp)
        return p.returncode, p.stdout, p.stderr


def parse_report(out, err, rc, subject, user, sender):
    """The canonical lines of a sieve-test report (no -e)."""
    m = re.search(r"line (\d+): error:", err)
    line = m.group(1) if m else "?"
    if rc != 0 and "failed to compile" in err:
        return ["compile-error line=%s" % line]
    if "final result: failed; resolved with successful implicit keep" in err:
        # a run-time error: the actions are dropped, the implicit keep
        # stores the message (sieve-test prints no report then)
        return ["error line=%s" % line, "implicit-keep"]
    if rc != 0:
        raise AssertionError("sieve-test failed (%d): %s" % (rc, err))
    lines = []
    section, cur = None, None
    body = None
    for ln in out.splitlines():
        if ln.startswith("## Executing script: "):
            # with -s each script reports; only the last one's implicit
            # keep is the final one (a keep lets the next script run)
            lines = [a for a in lines if isinstance(a, str) or
                     a["section"] != "implicit"]
            continue
        if ln == "Performed actions:":
            section = "performed"
            continue
        if ln == "Implicit keep:":
            section = "implicit"
            continue
        if body is not None:
            if ln == "END MESSAGE":
                cur["reason"] = "\n".join(body)
                body = None
            else:
                body.append(ln)
            continue
        if ln == "START MESSAGE":
            body = []
            continue
        s = ln.lstrip()     # a value may end in spaces
        if cur is not None and ln.endswith("<MIME>"):
            cur["mime"] = True      # the implicit handle names :mime
        if s.startswith("* "):
            cur = {"section": section, "what": s[2:], "subs": [], "kv": {}}
            lines.append(cur)
        elif s.startswith("+ ") and cur is not None:
            cur["subs"].append(s[2:])
        elif s.startswith("=> ") and cur is not None:
            k, _, v = s[3:].partition(":")
            cur["kv"][k.strip()] = v[1:] if v.startswith(" ") else v
    lines = [a if isinstance(a, str) else
             canon_action(a, subject, user, sender) for a in lines]
    return [a for a in lines if a is not None]


def canon_action(a, subject, user, sender):
    what, subs = a["what"], a["subs"]
    flags = ""
    for s in subs:
        if s.startswith("add IMAP flags:"):
            flags = canon_flags(s.split(":", 1)[1])
    copy = " copy" if "preserve implicit keep" in subs else ""
    if what == "keep":      # a keep of a script that is not the last
        return ("implicit-keep" if a["section"] == "implicit" else
                "keep") + flags
    if what.startswith("store message in folder: "):
        box = what.split(": ", 1)[1]
        if a["section"] == "implicit":
            return "implicit-keep" + flags
        if box == "INBOX":
            return "keep" + flags
        create = " create" if any(s.startswith("create mailbox") for s in subs) else ""
        return "fileinto %s%s%s%s" % (quote(box), create, copy, flags)
    if what.startswith("redirect message to: "):
        addr = what.split(": ", 1)[1].strip("<>")
        return "redirect %s%s" % (quote(addr), copy)
    if what.startswith("reject message with reason: "):
        # sieve-test prints a line end (CRLF) of the reason as "??"
        return "reject " + quote(what.split(": ", 1)[1].replace("??", "\n"))
    if what == "discard":
        return "discard"
    if what == "track duplicate":
        return None     # tem lists the ids to record apart from actions
    if what.startswith("send vacation message"):
        kv = a["kv"]
        handle = kv.get("handle", "")
        implicit = handle.endswith("<NO-MIME>") or handle.endswith("<MIME>")
        s = "vacation to=%s from=%s subject=%s seconds=%s" % (
            quote(sender), quote(kv.get("from", user)),
            quote(kv.get("subject", "Auto: " + subject)), kv.get("seconds"))
        if not implicit:
            s += " handle=" + quote(handle)
        if a.get("mime"):
            s += " mime"
        return s + " reason=" + quote(a.get("reason", ""))
    return "unknown " + quote(what)


def sent_subject(out):
    """The decoded Subject of the vacation reply sieve-test -e printed."""
    end = out.find("\nAuto-Submitted: auto-replied")
    if end < 0:
        return None
    m = None
    for m in re.finditer(r"^Subject: (.*(?:\n[ \t].*)*)$", out[:end], re.M):
        pass
    if m is None:
        return None
    raw = re.sub(r"\n[ \t]", " ", m.group(1))
    return str(email.header.make_header(email.header.decode_header(raw)))


def header_fields(text):
    """The unfolded fields of a message's header section."""
    head = re.split(r"\r?\n\r?\n", text, maxsplit=1)[0]
    fields = []
    for ln in head.replace("\r\n", "\n").split("\n"):
        if ln[:1] in (" ", "\t") and fields:
            fields[-1] += ln
        elif ln:
            fields.append(ln)
    return fields


def stored_header(run):
    """The header lines of the first message -e stored, or None."""
    for dirpath, _, files in sorted(os.walk(os.path.join(run.tmp, "mail"))):
        if os.path.basename(dirpath) in ("new", "cur"):
            for n in sorted(files):
                with open(os.path.join(dirpath, n), errors="replace") as f:
                    return header_fields(f.read())
    return None


def canonical(script, message, argfile):
    """sieve-test's verdict on one case as canonical lines (unsorted)."""
    args = parse_args(argfile)
    run = Run(script, message, args)
    try:
        with open(message, errors="replace") as f:
            orig = f.read()
        subj = re.search(r"^Subject: (.*)$", orig, re.M | re.I)
        frm, _, user = run.envelope()
        rc, out, err = run.run()
        lines = parse_report(out, err, rc, subj.group(1) if subj else "",
                             user, frm)
        with open(script) as f:
            edits = "editheader" in f.read()
        vacation = any(a.startswith("vacation ") for a in lines)
        if (edits or vacation) and not lines[0].startswith(("compile-error", "error")):
            rc, out, err = run.run(execute=True)
            if vacation and "sent vacation response" not in err:
                # the report lists the action; only executing it applies
                # RFC 5230's do-not-reply rules (lists, bulk, not to me)
                lines = [a for a in lines if not a.startswith("vacation ")]
            elif vacation:
                # the report shows a :subject only; the reply has the
                # final one (the default made from the original)
                sent = sent_subject(out)
                lines = [re.sub(r' subject="(?:[^"\\]|\\.)*"',
                                lambda _: " subject=" + quote(sent), a)
                         if a.startswith("vacation ") and sent is not None
                         else a for a in lines]
            head = stored_header(run) if edits else None
            if head is not None and head != header_fields(orig):
                lines += ["header " + quote(h) for h in head]
        return lines
    finally:
        run.close()
