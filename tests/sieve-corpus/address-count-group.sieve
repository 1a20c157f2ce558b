require ["fileinto", "relational", "comparator-i;ascii-numeric"];
if address :count "eq" :comparator "i;ascii-numeric" "cc" "3" { fileinto "Three"; }
if address :count "eq" :comparator "i;ascii-numeric" "to" "0" { fileinto "NoneInTo"; }
