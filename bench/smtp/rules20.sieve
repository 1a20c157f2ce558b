# bench/smtp --sieve: 20 rules of the kinds people write (mailing lists
# into folders, flags for some senders, a size rule), none of which
# matches the bench's messages, so every message is tested by all of
# them and still lands in INBOX (new/, where the bench counts it).
require ["fileinto", "imap4flags", "variables", "mailbox"];
if header :contains "list-id" "announce.lists.example.org" { fileinto :create "Lists/announce"; stop; }
if header :contains "list-id" "dev.lists.example.org" { fileinto :create "Lists/dev"; stop; }
if header :contains "list-id" "users.lists.example.org" { fileinto :create "Lists/users"; stop; }
if header :is "x-mailing-list" "debian-devel@lists.debian.org" { fileinto :create "Lists/debian"; stop; }
if address :domain :is "from" "github.com" { fileinto :create "GitHub"; stop; }
if address :domain :is "from" "gitlab.example.com" { fileinto :create "GitLab"; stop; }
if address :is "from" "boss@example.com" { addflag "\\Flagged"; }
if address :is "from" "ceo@example.com" { addflag "\\Flagged"; }
if header :contains "subject" "[JIRA]" { fileinto :create "Jira"; stop; }
if header :contains "subject" "invoice" { fileinto :create "Invoices"; stop; }
if header :matches "subject" "*newsletter*" { fileinto :create "News"; stop; }
if header :contains "x-spam-flag" "YES" { fileinto :create "Junk"; stop; }
if exists "x-facebook-notify" { fileinto :create "Social"; stop; }
if exists "x-linkedin-class" { fileinto :create "Social"; stop; }
if address :localpart :is "to" "billing" { fileinto :create "Billing"; stop; }
if address :localpart :is "to" "abuse" { fileinto :create "Abuse"; stop; }
if header :contains "precedence" "bulk" { fileinto :create "Bulk"; stop; }
if size :over 20M { fileinto :create "Large"; stop; }
if header :matches "from" "*@*.example.net" { fileinto :create "Net"; stop; }
if anyof (header :contains "subject" "urgent", header :contains "importance" "high") { addflag "$Urgent"; }
