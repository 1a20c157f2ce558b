require ["fileinto", "relational", "comparator-i;ascii-numeric"];
if header :count "eq" :comparator "i;ascii-numeric" "received" "2" { fileinto "Two"; }
if header :count "gt" :comparator "i;ascii-numeric" "received" "2" { fileinto "Wrong"; }
