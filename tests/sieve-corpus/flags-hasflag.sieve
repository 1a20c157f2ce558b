require ["imap4flags", "fileinto"];
addflag "Urgent";
if hasflag :is "urgent" { fileinto "HasUrgent"; }
if hasflag :contains "rgen" { fileinto "Contains"; }
if hasflag "\\Seen" { fileinto "Wrong"; }
