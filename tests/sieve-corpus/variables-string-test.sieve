require ["variables", "fileinto", "relational", "comparator-i;ascii-numeric"];
set "n" "12";
if string :is "${n}" "12" { fileinto "Is"; }
if string :value "gt" :comparator "i;ascii-numeric" "${n}" "9" { fileinto "Numeric"; }
if string :count "eq" :comparator "i;ascii-numeric" ["a", "", "b"] "2" { fileinto "Count"; }
if string :is "${undefined}" "" { fileinto "Empty"; }
