require ["fileinto", "relational", "comparator-i;ascii-numeric"];
if header :is "x-dup" "two" { fileinto "AnyOccurrence"; }
if header :count "eq" :comparator "i;ascii-numeric" "x-dup" "2" { fileinto "CountTwo"; }
if header :count "eq" :comparator "i;ascii-numeric" "x-missing" "0" { fileinto "CountZero"; }
