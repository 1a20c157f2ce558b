require ["imap4flags", "variables", "fileinto"];
setflag "mine" "\\Draft";
addflag "mine" "Todo";
if hasflag "mine" "todo" { fileinto :flags "${mine}" "Drafts"; }
