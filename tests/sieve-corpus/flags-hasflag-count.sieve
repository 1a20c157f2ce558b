require ["imap4flags", "fileinto", "relational", "comparator-i;ascii-numeric"];
addflag ["x", "y", "z"];
if hasflag :count "eq" :comparator "i;ascii-numeric" "3" { fileinto "Three"; }
