require ["fileinto", "comparator-i;ascii-numeric"];
if header :contains :comparator "i;ascii-numeric" "x-priority" "2" { keep; }
