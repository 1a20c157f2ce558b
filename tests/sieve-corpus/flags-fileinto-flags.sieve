require ["imap4flags", "fileinto"];
addflag "\\Seen";
fileinto :flags "\\Flagged Boss" "Boss";
fileinto "Other";
