require ["fileinto", "relational", "comparator-i;ascii-numeric"];
if header :value "gt" :comparator "i;ascii-numeric" "x-number" "99999" { fileinto "InfBig"; }
if header :value "eq" :comparator "i;ascii-numeric" "x-number" "xyz" { fileinto "InfEq"; }
