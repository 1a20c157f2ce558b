require ["fileinto", "comparator-i;octet"];
if header :is :comparator "i;octet" "subject" "QUARTERLY REPORT" { fileinto "Wrong"; }
elsif header :is :comparator "i;octet" "subject" "Quarterly report" { fileinto "Octet"; }
