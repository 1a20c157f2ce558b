require ["date", "fileinto", "relational", "comparator-i;ascii-numeric"];
if currentdate :value "ge" :comparator "i;ascii-numeric" "year" "2020" { fileinto "Now"; }
if currentdate :value "lt" :comparator "i;ascii-numeric" "year" "2000" { fileinto "Wrong"; }
