require ["mailbox", "fileinto"];
if mailboxexists "Archive" { fileinto "Archive"; } else { fileinto :create "Archive"; }
