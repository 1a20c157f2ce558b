# bench/data/sieve-20-rules.sieve - a realistic user script of 20 rules,
# active for bench@bench.test with `bench/smtp/run.sh --sieve`: mailing
# lists into folders, the boss flagged, spam to Junk, vacation switched
# off. smtp-source's messages match none of the rules, so every message
# still ends in INBOX (where the bench counts them) after all 20 ran.
require ["fileinto", "mailbox", "imap4flags", "variables", "envelope",
         "subaddress", "relational", "comparator-i;ascii-numeric",
         "vacation", "date"];

set "vacation" "off";

# 1-2: spam marked by the filter in front goes to Junk
if header :contains "X-Spam-Flag" "YES" { fileinto :create "Junk"; stop; }
if header :value "ge" :comparator "i;ascii-numeric" "X-Spam-Score" "8" {
  fileinto :create "Junk"; stop;
}
# 3-8: mailing lists, each into its folder
if header :contains "List-Id" "<dev.lists.example.org>" {
  fileinto :create "Lists/dev"; stop;
}
if header :contains "List-Id" "<announce.lists.example.org>" {
  fileinto :create "Lists/announce"; stop;
}
if header :matches "List-Id" "*<*.github.com>" {
  fileinto :create "Lists/github/${2}"; stop;
}
if address :is :domain "from" "lists.debian.org" {
  fileinto :create "Lists/debian"; stop;
}
if envelope :detail "to" "lists" { fileinto :create "Lists/other"; stop; }
if header :is "Precedence" ["list", "bulk"] {
  fileinto :create "Lists/bulk"; stop;
}
# 9-11: the boss and the family are flagged and kept
if address :is "from" ["boss@example.com", "ceo@example.com"] {
  addflag "\\Flagged";
}
if address :domain :is "from" "family.example" { addflag "Family"; }
if header :contains "Importance" "high" { addflag "\\Flagged"; }
# 12-15: notifications and receipts into their folders
if address :is :localpart "from" ["noreply", "no-reply", "notifications"] {
  fileinto :create "Notifications"; stop;
}
if header :contains "Subject" ["invoice", "receipt", "order confirmation"] {
  fileinto :create "Receipts"; stop;
}
if header :matches "Subject" "[[]JIRA[]] *" {
  fileinto :create "Tickets"; stop;
}
if exists "X-Calendar-Invite" { fileinto :create "Calendar"; stop; }
# 16-18: old mail, huge mail and auto-replies
if date :value "lt" :originalzone "date" "year" "2000" {
  fileinto :create "Old"; stop;
}
if size :over 20M { fileinto :create "Large"; stop; }
if header :is "Auto-Submitted" "auto-replied" {
  fileinto :create "Auto-replies"; stop;
}
# 19: a blocked sender
if anyof (address :is "from" "pest@example.net",
          header :contains "From" "unwanted") { discard; stop; }
# 20: vacation, switched off
if string :is "${vacation}" "on" {
  vacation :days 7 :subject "Away" "I am away until Monday.";
}
