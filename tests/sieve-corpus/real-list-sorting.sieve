require ["fileinto", "variables", "mailbox", "imap4flags"];
if header :matches "list-id" "*<*.*.*.*>" {
  fileinto :create "Lists/${2}";
  stop;
}
if address :is "from" "boss@example.com" {
  addflag "\\Flagged";
}
