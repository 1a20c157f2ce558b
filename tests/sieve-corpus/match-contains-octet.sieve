require "fileinto";
if header :contains :comparator "i;octet" "subject" "report" { fileinto "Hit"; }
if header :contains :comparator "i;octet" "subject" "REPORT" { fileinto "Wrong"; }
