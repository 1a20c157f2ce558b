require ["fileinto", "comparator-i;ascii-numeric"];
# two strings that do not start with a digit are both "infinity": equal
if header :is :comparator "i;ascii-numeric" "subject" "anything" { fileinto "Inf"; }
